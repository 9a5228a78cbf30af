package console

import (
	"net"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// Development-only routes answer only requests addressed to this server by a name it knows, from
// its own page. The peer being loopback is not enough: a page on evil.example whose name is
// rebound to 127.0.0.1 (DNS rebinding) reaches a developer's server from loopback, but its
// requests carry Host: evil.example:<port> and its own Origin. So the Host must be the public
// URL's host:port or a loopback name (localhost, 127.0.0.1, [::1]) at the public URL's or the
// listen address's port, and an Origin, when sent, must be http(s)://<that Host> or the public
// URL's origin.

// hostGuard holds the Host values and origins a development-only route accepts.
type hostGuard struct {
	hosts   map[string]bool
	origins map[string]bool
}

// newHostGuard derives the accepted names from the public URL (e.g. http://127.0.0.1:8080) and
// the listen address (e.g. 127.0.0.1:8080 or :8080); either may be empty.
func newHostGuard(publicURL, listen string) *hostGuard {
	g := &hostGuard{hosts: map[string]bool{}, origins: map[string]bool{}}
	var ports []string
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		host := strings.ToLower(u.Host)
		g.hosts[host] = true
		g.origins[strings.ToLower(u.Scheme)+"://"+host] = true
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
			g.hosts[net.JoinHostPort(strings.Trim(host, "[]"), port)] = true
		}
		ports = append(ports, port)
	}
	if h, p, err := net.SplitHostPort(listen); err == nil && p != "" && p != "0" {
		ports = append(ports, p)
		if h != "" && !net.ParseIP(h).IsUnspecified() {
			g.hosts[strings.ToLower(net.JoinHostPort(h, p))] = true
		}
	}
	for _, p := range ports {
		for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
			g.hosts[net.JoinHostPort(h, p)] = true
		}
	}
	return g
}

// allow reports whether the request is addressed to this server from its own page; when not, it
// answers 403 with the reason.
func (g *hostGuard) allow(ctx *fasthttp.RequestCtx) bool {
	host := strings.ToLower(string(ctx.Host()))
	if !g.hosts[host] {
		fail(ctx, fasthttp.StatusForbidden, "Development routes answer only requests addressed to this server (Host must be the public URL's host or a loopback name at its port); DNS rebinding is refused.")
		return false
	}
	origin := ctx.Request.Header.Peek("Origin")
	if origin == nil {
		return true // not a browser's cross-origin request (curl, pushgate token scripts)
	}
	o := strings.ToLower(string(origin))
	if o == "http://"+host || o == "https://"+host || g.origins[o] {
		return true
	}
	fail(ctx, fasthttp.StatusForbidden, "Development routes answer only the console's own page (Origin must be this server's origin).")
	return false
}
