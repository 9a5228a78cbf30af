package console

import (
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestMintRefusesRebinding is the probe's finding 4: a page whose name was rebound to 127.0.0.1
// reaches the mint from loopback, but with its own name in Host (and its own origin in Origin).
// The mint answers only requests addressed to this server (Host: the public URL's host:port or a
// loopback name at the port) from its own page (Origin absent or the same origin).
func TestMintRefusesRebinding(t *testing.T) {
	f := newFixture(t, true) // public URL http://127.0.0.1:1
	for _, c := range []struct {
		name, host, origin string
		status             int
	}{
		{"rebound name", "evil.example:8080", "", 403},
		{"rebound name and its origin", "evil.example:8080", "http://evil.example:8080", 403},
		{"rebound name at our port", "evil.example:1", "http://evil.example:1", 403},
		{"our host, foreign origin", "127.0.0.1:1", "http://evil.example:8080", 403},
		{"opaque origin", "127.0.0.1:1", "null", 403},
		{"no host", "", "", 403},
		{"loopback at another port", "127.0.0.1:2", "", 403},
		{"our page", "127.0.0.1:1", "http://127.0.0.1:1", 200},
		{"localhost page", "localhost:1", "http://localhost:1", 200},
		{"ipv6 loopback page", "[::1]:1", "http://[::1]:1", 200},
		{"curl (no origin)", "127.0.0.1:1", "", 200},
	} {
		var req fasthttp.Request
		req.Header.SetMethod("POST")
		req.SetRequestURI("/console/api/token")
		req.Header.SetHost(c.host)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		req.Header.SetContentType("application/json")
		req.SetBodyString(`{"core":true}`)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4321}, nil)
		f.api.Handle(&ctx)
		body := string(ctx.Response.Body())
		if ctx.Response.StatusCode() != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, ctx.Response.StatusCode(), body, c.status)
			continue
		}
		if c.status == 403 && (!strings.Contains(body, `"errorMessage"`) || strings.Contains(body, "token\":")) {
			t.Errorf("%s: 403 without a JSON reason, or with a token: %s", c.name, body)
		}
	}
}
