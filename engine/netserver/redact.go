package netserver

import (
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

var requestSeq atomic.Uint64

// requestID is the client's X-Request-Id when it sent a sane one, else a process-unique counter.
func requestID(req *fasthttp.Request) string {
	if v := req.Header.Peek("X-Request-Id"); len(v) > 0 && len(v) <= 64 {
		return string(v)
	}
	return "r" + strconv.FormatUint(requestSeq.Add(1), 36)
}

// redactQuery hides credentials in a query string before it is logged: tokens travel in the
// query for EventSource and socket.io clients that cannot set headers.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "<unparsable>"
	}
	for k := range q {
		switch strings.ToLower(k) {
		case "token", "access_token", "auth", "authorization", "password", "secret":
			q[k] = []string{"REDACTED"}
		}
	}
	return q.Encode()
}
