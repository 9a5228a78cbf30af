package webhook

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// TestGuardCanonicalForms holds the guard on a canonical address: a zone (which makes
// netip.Prefix.Contains false for every range) is dropped, 4-in-6 forms are decided as their IPv4
// address, and every IANA special-purpose range is refused (the probe's finding 1).
func TestGuardCanonicalForms(t *testing.T) {
	prod := &Guard{}
	for _, a := range []string{
		"::1%lo", "fe80::1%eth0", "fd00::1%eth0", "fc00::1%1", "::ffff:127.0.0.1%lo", "ff02::1%eth0",
		"::169.254.169.254", "::a00:1", "::7f00:1", "::8.8.8.8", // IPv4-compatible ::/96, deprecated
		"64:ff9b::a9fe:a9fe", "64:ff9b::127.0.0.1", "64:ff9b:1::808:808", // NAT64 of private; local-use NAT64
		"2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:2::1", "2001:20::1", // Teredo, benchmarking, ORCHIDv2
		"2002:7f00:1::", "3fff::1", "2620:4f:8000::1", "5f00::1", "100::1", "100:0:0:1::1", "fec0::1", "4000::1",
		"192.31.196.1", "192.52.193.1", "192.88.99.1", "192.175.48.1", "192.0.0.9", "0.1.2.3",
	} {
		if prod.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("production guard allows %s", a)
		}
	}
	for _, a := range []string{"64:ff9b::808:808", "2606:4700::1111", "2a00:1450:4001::1%eth0"} {
		if !prod.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("production guard refuses public %s", a)
		}
	}
	if err := prod.control("tcp", "[::1%lo]:9", nil); !errors.Is(err, ErrBlockedAddress) {
		t.Errorf("dial hook lets [::1%%lo]:9 through: %v", err)
	}
	dev := &Guard{AllowLoopback: true}
	if !dev.Allowed(netip.MustParseAddr("::1%lo")) || dev.Allowed(netip.MustParseAddr("fe80::1%lo")) {
		t.Error("development guard: loopback (zoned or not) only")
	}
}

// TestSSRFZoneDeliveryBlocked is the probe's attack end to end: a live receiver on ::1 addressed
// as [::1%25lo] must see nothing and the attempt is ssrf_blocked.
func TestSSRFZoneDeliveryBlocked(t *testing.T) {
	r := newReceiverOn(t, "[::1]:0", 200)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(r.url, "/hook"), "http://"))
	e := newEnv(t, func(c *Config) {
		c.Guard = Guard{} // production
		c.Schedule = []time.Duration{0}
		c.Timeout = 3 * time.Second
	})
	e.configure(tenantA, hookDoc("zone", "http://[::1%25lo]:"+port+"/hook"))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "a dead letter or a delivery", func() bool {
		dl, _ := e.svc.DeadLetters(tenantA, "zone")
		return len(dl.([]DeadLetter)) == 1 || r.hits.Load() > 0
	})
	if r.hits.Load() != 0 {
		t.Fatalf("the loopback receiver was reached through [::1%%25lo] (%d requests)", r.hits.Load())
	}
	att, _ := e.svc.Attempts(tenantA, "zone", 10)
	as := att.([]Attempt)
	if len(as) == 0 {
		t.Fatal("no attempt recorded")
	}
	if a := as[0]; a.Outcome != OutcomeSSRFBlocked {
		t.Fatalf("outcome %q (%s), want %s", a.Outcome, a.Error, OutcomeSSRFBlocked)
	}
}

// TestSaveRefusesBlockedURL: the save-time half answers with the field named.
func TestSaveRefusesBlockedURL(t *testing.T) {
	validate := (&Guard{}).CheckDocument
	for _, u := range []string{"http://[::1%25lo]:9500/", "http://[fe80::1%25eth0]/", "http://[::169.254.169.254]/",
		"http://127.0.0.1/", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://[::ffff:a00:1]/",
		"http://169.254.169.254/latest/meta-data/", "http://[64:ff9b::a00:1]/"} {
		err := validate([]byte(hookDoc("a", u)))
		if err == nil || !strings.Contains(err.Error(), "webhooks.a.url") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"https://receiver.example/h", "http://8.8.8.8/", "http://[2606:4700::1111]/"} {
		if err := validate([]byte(hookDoc("a", u))); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	if err := (&Guard{AllowLoopback: true}).CheckDocument([]byte(hookDoc("a", "http://127.0.0.1:9/"))); err != nil {
		t.Errorf("development mode refuses loopback: %v", err)
	}
}

// mustBlock is the fuzz target's oracle, written on the 16 bytes independently of the guard's
// prefix tables: the IANA special-purpose registries as byte comparisons.
func mustBlock(a netip.Addr) bool {
	b := a.As16()
	if b == [16]byte{10: 0xff, 11: 0xff, 12: b[12], 13: b[13], 14: b[14], 15: b[15]} {
		return mustBlock4(binary.BigEndian.Uint32(b[12:]))
	}
	if b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && [8]byte(b[4:12]) == [8]byte{} {
		return mustBlock4(binary.BigEndian.Uint32(b[12:])) // NAT64 well-known prefix
	}
	if b[0]&0xe0 != 0x20 { // outside 2000::/3
		return true
	}
	w := binary.BigEndian.Uint16(b[:2])
	switch {
	case w == 0x2001 && b[2] < 2, // 2001::/23
		w == 0x2001 && b[2] == 0x0d && b[3] == 0xb8, // 2001:db8::/32
		w == 0x2002,                   // 6to4
		w == 0x3fff && b[2]&0xf0 == 0, // 3fff::/20
		w == 0x2620 && b[2] == 0 && b[3] == 0x4f && b[4] == 0x80 && b[5] == 0: // AS112
		return true
	}
	return false
}

func mustBlock4(v uint32) bool {
	in := func(base uint32, bits int) bool { return v>>(32-bits) == base>>(32-bits) }
	ip := func(a, b, c, d uint32) uint32 { return a<<24 | b<<16 | c<<8 | d }
	return in(0, 8) || in(ip(10, 0, 0, 0), 8) || in(ip(100, 64, 0, 0), 10) || in(ip(127, 0, 0, 0), 8) ||
		in(ip(169, 254, 0, 0), 16) || in(ip(172, 16, 0, 0), 12) || in(ip(192, 0, 0, 0), 24) || in(ip(192, 0, 2, 0), 24) ||
		in(ip(192, 31, 196, 0), 24) || in(ip(192, 52, 193, 0), 24) || in(ip(192, 88, 99, 0), 24) || in(ip(192, 168, 0, 0), 16) ||
		in(ip(192, 175, 48, 0), 24) || in(ip(198, 18, 0, 0), 15) || in(ip(198, 51, 100, 0), 24) || in(ip(203, 0, 113, 0), 24) ||
		v >= ip(224, 0, 0, 0) // multicast, reserved, broadcast
}

// spellings are the textual forms of one address a URL can carry.
func spellings(a netip.Addr, zone string) []string {
	var out []string
	add := func(h string) { out = append(out, h) }
	if a.Is4() {
		v := binary.BigEndian.Uint32(a.AsSlice())
		b := a.As4()
		add(a.String())
		add(strconv.FormatUint(uint64(v), 10))
		add(fmt.Sprintf("0%o", v))
		add(fmt.Sprintf("0x%x", v))
		add(fmt.Sprintf("0%o.0%o.0%o.0%o", b[0], b[1], b[2], b[3]))
		add(fmt.Sprintf("0x%x.0x%x.0x%x.0x%x", b[0], b[1], b[2], b[3]))
		add(fmt.Sprintf("%d.%d", b[0], v&0xffffff))
		add(fmt.Sprintf("%d.%d.%d", b[0], b[1], v&0xffff))
		add(a.String() + ".")
		for _, six := range []string{"::ffff:" + a.String(), "::" + a.String(), "64:ff9b::" + a.String(),
			netip.AddrFrom16(netip.AddrFrom4(b).As16()).StringExpanded(), fmt.Sprintf("::ffff:%x:%x", v>>16, v&0xffff),
			fmt.Sprintf("2002:%x:%x::", v>>16, v&0xffff)} {
			add("[" + six + "]")
			add("[" + six + "%25" + url.PathEscape(zone) + "]")
		}
		return out
	}
	add("[" + a.String() + "]")
	add("[" + a.StringExpanded() + "]")
	add("[" + strings.ToUpper(a.StringExpanded()) + "]")
	add("[" + a.String() + "%25" + url.PathEscape(zone) + "]")
	add("[" + a.String() + "%25" + "lo]")
	return out
}

var errWouldConnect = errors.New("guard allowed the address (test stops before connect)")

// FuzzGuardNeverDialsBlocked feeds every spelling of an address through both halves of the
// guard — the save-time check and a real net.Dialer whose Control hook is the guard's — and holds
// the property: nothing in a blocked range (per the independent oracle) is ever dialled, and an
// address literal in a blocked range is refused at save.
func FuzzGuardNeverDialsBlocked(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "8.8.8.8", "::1", "fe80::1", "fd00::1",
		"64:ff9b::808:808", "2001::1", "2002::1", "2606:4700::1111", "100.64.0.1", "198.18.0.1", "255.255.255.255", "0.0.0.0", "ff02::1"} {
		a := netip.MustParseAddr(s)
		f.Add(a.AsSlice(), "eth0")
	}
	prod := &Guard{}
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, errors.New("no DNS in the fuzz target")
	}}
	f.Fuzz(func(t *testing.T, raw []byte, zone string) {
		a, ok := netip.AddrFromSlice(raw)
		if !ok || strings.ContainsAny(zone, "]/?#@") {
			return
		}
		for _, host := range spellings(a, zone) {
			u := "http://" + host + ":80/hook"
			pu, err := url.Parse(u)
			if err != nil {
				continue // the URL parser refuses it: it can never be saved
			}
			if lit, ok := literalAddr(pu.Hostname()); ok && mustBlock(lit) && prod.CheckURL(u) == nil {
				t.Fatalf("%s (%s) saved although in a blocked range", u, lit)
			}
			d := &net.Dialer{Timeout: time.Second, Resolver: resolver, Control: func(network, address string, c syscall.RawConn) error {
				if err := prod.control(network, address, c); err != nil {
					return err
				}
				ap, err := netip.ParseAddrPort(address)
				if err != nil || mustBlock(ap.Addr().WithZone("")) {
					t.Fatalf("%s: dialled %s, which is in a blocked range", u, address)
				}
				return errWouldConnect
			}}
			_, _ = d.Dial("tcp", pu.Host)
		}
	})
}
