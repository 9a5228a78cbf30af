package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress reports a webhook dial refused by the SSRF guard. The check runs in
// net.Dialer.Control, on the address actually dialled (after DNS, so a name that resolves — or is
// rebound — to a private address is refused too) and before connect(2): no packet is sent.
var ErrBlockedAddress = errors.New("webhook: destination address not allowed")

// Guard decides which resolved addresses a webhook may reach.
type Guard struct {
	// AllowPrivate turns the guard off (development: every address is allowed).
	AllowPrivate bool
	// AllowLoopback allows 127.0.0.0/8 and ::1 (development mode, `make run`).
	AllowLoopback bool
	// Allow lists extra prefixes that are reachable even though they are in a blocked range.
	Allow []netip.Prefix
}

// blocked ranges: loopback, RFC 1918, CGNAT, link-local (cloud metadata 169.254.169.254), ULA,
// multicast, unspecified, "this network", documentation, benchmarking, reserved, broadcast, the
// IPv6 translation forms that embed an IPv4 address, and AWS's IPv6 metadata address.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "2002::/16",
		"fc00::/7", "fe80::/10", "ff00::/8", "fd00:ec2::254/128",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// Allowed reports whether a may be dialled.
func (g *Guard) Allowed(a netip.Addr) bool {
	if g.AllowPrivate {
		return true
	}
	a = a.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	for _, p := range g.Allow {
		if p.Contains(a) {
			return true
		}
	}
	if g.AllowLoopback {
		for _, p := range loopback {
			if p.Contains(a) {
				return true
			}
		}
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// control is the net.Dialer.Control hook.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, ap.Addr())
	}
	return nil
}

// newClient returns the HTTP client of the senders: the guard on every dial, no proxy (the guard
// would otherwise check the proxy, not the destination), no redirects (3xx is a failed attempt, as
// Standard Webhooks asks, and a redirect cannot lead past the guard), keep-alive per host.
func newClient(g *Guard, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second, Control: g.control}
	tr := &http.Transport{
		Proxy:       nil,
		DialContext: d.DialContext,
		// Many endpoints often share one receiver host (100 endpoints × MaxInFlight 4 = 400
		// connections): keep them all, or every attempt beyond the idle cap dials anew (5 % of
		// the CPU at 100 endpoints with a cap of 256, BENCHMARKS.md §2d).
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 1024,

		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
	}
	// No Client.Timeout: every attempt's context carries the timeout (send), and a second timer
	// per request cost CPU for nothing.
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
