package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures a Verifier. Zero values mean the documented defaults.
type Config struct {
	// IssuerBase is the identity provider base, e.g. "http://127.0.0.1:8080/auth"; accepted issuers
	// are exactly <IssuerBase>/realms/<realm>. Required. A trailing "/" is ignored.
	IssuerBase string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means 30s; negative means none.
	Leeway time.Duration
	// JWKSRefreshMinInterval is the minimum time between two fetches of a realm's keys (an unknown
	// kid triggers at most one refresh per interval). Zero means 5s.
	JWKSRefreshMinInterval time.Duration
	// JWKSMaxAge is how long fetched keys are used before the next token of that realm refreshes
	// them (keys removed by the identity provider stop being accepted after it). Zero means 1h.
	JWKSMaxAge time.Duration
	// HTTPClient fetches discovery documents and JWKS; every fetch is also bounded by a 2 s
	// timeout and a 1 MiB body. Nil means a client with a 2 s timeout.
	HTTPClient *http.Client
	// MaxTokenBytes rejects longer tokens before parsing. Zero means 16 KiB.
	MaxTokenBytes int
	// Logger receives the WARN naming a key id no key set holds (at most one line per
	// unknownKIDLogInterval, with the number suppressed). Nil means slog.Default().
	Logger *slog.Logger
	// TokenCacheSize bounds the cache of verified tokens (cache.go), kept until their exp. Zero
	// means 10,000; negative turns the cache off.
	TokenCacheSize int
}

// unknownKIDLogInterval bounds the "unknown key id" WARN: a fleet whose instances each made their
// own development key, or a rotated identity provider, says so without a line per request.
const unknownKIDLogInterval = 10 * time.Second

func (c *Config) applyDefaults() {
	c.IssuerBase = strings.TrimRight(c.IssuerBase, "/")
	switch {
	case c.Leeway == 0:
		c.Leeway = 30 * time.Second
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.JWKSRefreshMinInterval == 0 {
		c.JWKSRefreshMinInterval = 5 * time.Second
	}
	if c.JWKSMaxAge == 0 {
		c.JWKSMaxAge = time.Hour
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	if c.MaxTokenBytes == 0 {
		c.MaxTokenBytes = 16 << 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.TokenCacheSize == 0 {
		c.TokenCacheSize = 10000
	}
}

// Validate reports configuration errors.
func (c *Config) Validate() error {
	if c.IssuerBase == "" {
		return errors.New("auth: IssuerBase is required")
	}
	u, err := url.Parse(c.IssuerBase)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("auth: IssuerBase %q must be an absolute http(s) URL", c.IssuerBase)
	}
	if c.JWKSRefreshMinInterval < 0 || c.JWKSMaxAge < 0 || c.MaxTokenBytes < 0 {
		return errors.New("auth: durations and sizes must not be negative")
	}
	return nil
}
