package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
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

// blocked4 is every range of the IANA IPv4 Special-Purpose Address Registry (whatever its
// "globally reachable" column says: none of them is a webhook receiver), plus multicast.
var blocked4 = prefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24",
	"192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
	"224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
)

// global6 is the only IPv6 space allocated for global unicast (IANA IPv6 Address Space); every
// address outside it — ::/8 (unspecified, loopback, the deprecated IPv4-compatible ::/96),
// 100::/64 discard, fc00::/7 ULA (AWS's metadata fd00:ec2::254 too), fe80::/10 link-local, fec0::/10 site-local, ff00::/8 multicast,
// and the reserved rest — is refused. NAT64 is the one exception, decided by its embedded IPv4.
var global6 = netip.MustParsePrefix("2000::/3")

// blocked6 are the special-purpose ranges of the IANA IPv6 registry inside 2000::/3.
var blocked6 = prefixes(
	"2001::/23",         // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID, AMT, AS112, DET…
	"2001:db8::/32",     // documentation
	"2002::/16",         // 6to4 (embeds an IPv4 address; relays are gone)
	"2620:4f:8000::/48", // AS112 direct delegation
	"3fff::/20",         // documentation
)

// nat64 is the well-known NAT64 prefix (RFC 6052): the last 32 bits are the IPv4 destination,
// decided as that IPv4 address (a DNS64 network reaches public receivers through it). The
// local-use prefix 64:ff9b:1::/48 (RFC 8215) is outside 2000::/3 and stays refused.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

var loopback = prefixes("127.0.0.0/8", "::1/128")

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Canonical is the address a decision is taken on: the zone dropped (netip.Prefix.Contains is
// false for every zoned address, so a zone would otherwise slip past every range) and an
// IPv4-mapped address unmapped (::ffff:10.0.0.1 is 10.0.0.1).
func Canonical(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

// Allowed reports whether a may be dialled.
func (g *Guard) Allowed(a netip.Addr) bool {
	if g.AllowPrivate {
		return true
	}
	if !a.IsValid() {
		return false
	}
	a = Canonical(a)
	if g.explicit(a) {
		return true
	}
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		return g.Allowed(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	return !special(a)
}

// explicit reports whether a is allowed by Allow or AllowLoopback.
func (g *Guard) explicit(a netip.Addr) bool {
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
	return false
}

// special reports whether the canonical address a is in a special-purpose range.
func special(a netip.Addr) bool {
	if a.Is4() {
		for _, p := range blocked4 {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !global6.Contains(a) {
		return true
	}
	for _, p := range blocked6 {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CheckURL is the save-time half of the guard: a webhook URL whose host is an address literal —
// in any spelling a URL parser or a resolver accepts: IPv6 with a zone, IPv4-mapped or
// -compatible, NAT64, or the inet_aton forms (decimal 2130706433, octal 0177.0.0.1, hex
// 0x7f.1) — is refused when the address is. Names are decided at dial time, after DNS.
func (g *Guard) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: not a URL", ErrBlockedAddress)
	}
	host := u.Hostname()
	if a, ok := literalAddr(host); ok && !g.Allowed(a) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, Canonical(a))
	}
	return nil
}

// literalAddr parses host as an IP address literal the way a dialler might read it.
func literalAddr(host string) (netip.Addr, bool) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	return parseInetAton(strings.TrimSuffix(host, "."))
}

// parseInetAton reads the legacy IPv4 forms of inet_aton(3) that getaddrinfo accepts: one to
// four parts, each decimal, octal (leading 0) or hex (0x), the last part filling the rest.
func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 0, 32) // base 0: 0x hex, 0 octal, else decimal
		if err != nil || p == "" || strings.ContainsAny(p, "_+-") {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		rest := uint(8 * (4 - i))
		if n >= 1<<rest {
			return netip.Addr{}, false
		}
		v = v<<rest | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// control is the net.Dialer.Control hook.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, Canonical(ap.Addr()))
	}
	return nil
}
