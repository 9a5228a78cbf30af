package adsp

import (
	"log/slog"
	"net/http"
	"time"
)

// defaultHTTPTimeout bounds each request to a platform service when the caller gives no HTTP
// client: a stalled service must not hold a refresh, a lookup or an event forever.
const defaultHTTPTimeout = 10 * time.Second

// httpClientOrDefault returns hc, or a client with defaultHTTPTimeout when hc is nil.
func httpClientOrDefault(hc *http.Client) *http.Client {
	if hc == nil {
		return &http.Client{Timeout: defaultHTTPTimeout}
	}
	return hc
}

// loggerOrDiscard returns log, or a logger that discards everything when log is nil.
func loggerOrDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
