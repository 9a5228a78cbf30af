package webhook

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

func TestGuardRanges(t *testing.T) {
	prod := &Guard{}
	for _, a := range []string{"127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
		"64:ff9b::a00:1", "2002:a00:1::", "224.0.0.1", "255.255.255.255", "198.18.0.1", "240.0.0.1"} {
		if prod.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("production guard allows %s", a)
		}
	}
	for _, a := range []string{"93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"} {
		if !prod.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("production guard refuses public %s", a)
		}
	}
	dev := &Guard{AllowLoopback: true}
	if !dev.Allowed(netip.MustParseAddr("127.0.0.1")) || !dev.Allowed(netip.MustParseAddr("::1")) || dev.Allowed(netip.MustParseAddr("10.0.0.1")) || dev.Allowed(netip.MustParseAddr("169.254.169.254")) {
		t.Error("development guard: loopback only")
	}
	open := &Guard{AllowPrivate: true}
	if !open.Allowed(netip.MustParseAddr("10.0.0.1")) {
		t.Error("--webhook-allow-private must allow private addresses")
	}
	// The hook refuses before connect(2): with a refused address no socket is even connected, so
	// dialling an unroutable private address fails at once instead of timing out.
	d := &net.Dialer{Timeout: 5 * time.Second, Control: prod.control}
	for _, addr := range []string{"10.255.255.1:80", "169.254.169.254:80", "127.0.0.1:9"} {
		start := time.Now()
		_, err := d.Dial("tcp", addr)
		if err == nil || !strings.Contains(err.Error(), ErrBlockedAddress.Error()) || time.Since(start) > time.Second {
			t.Errorf("dial %s: %v after %v", addr, err, time.Since(start))
		}
	}
}

// TestSSRFRefusedInProductionMode sends real deliveries through the production guard: loopback
// (a live receiver that must see nothing), a name resolving to loopback, private and metadata
// addresses, and a redirect from an allowed address to loopback.
func TestSSRFRefusedInProductionMode(t *testing.T) {
	r := newReceiver(t, 200)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(r.url, "/hook"), "http://"))
	// The redirector listens on 127.0.0.2, the only address the test allows.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	var redirects atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		redirects.Add(1)
		http.Redirect(w, req, r.url, http.StatusTemporaryRedirect)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	e := newEnv(t, func(c *Config) {
		c.Guard = Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
		c.Schedule = []time.Duration{0}
		c.Timeout = 3 * time.Second
	})
	targets := map[string]string{
		"loopback":  r.url,
		"localhost": "http://localhost:" + port + "/hook",
		"private":   "http://10.255.255.1/hook",
		"metadata":  "http://169.254.169.254/latest/meta-data/",
		"ipv6-lo":   "http://[::1]:" + port + "/hook",
		"redirect":  "http://" + ln.Addr().String() + "/go",
	}
	var pairs []string
	for k, u := range targets {
		pairs = append(pairs, k, u)
	}
	e.configure(tenantA, hookDoc(pairs...))
	e.publish(tenantA)
	for k := range targets {
		waitfor.True(t, 5*time.Second, k+" dead letter", func() bool {
			dl, _ := e.svc.DeadLetters(tenantA, k)
			return len(dl.([]DeadLetter)) == 1
		})
		att, _ := e.svc.Attempts(tenantA, k, 10)
		a := att.([]Attempt)[0]
		want := OutcomeSSRFBlocked
		if k == "redirect" {
			want = OutcomeHTTP3xx // not followed
		}
		if a.Outcome != want {
			t.Errorf("%s: outcome %q (%s), want %q", k, a.Outcome, a.Error, want)
		}
		if strings.Contains(a.Error, "/hook") || strings.Contains(a.Error, "meta-data") {
			t.Errorf("%s: the URL leaked into the error: %q", k, a.Error)
		}
	}
	if redirects.Load() != 1 || r.hits.Load() != 0 {
		t.Fatalf("redirector hit %d times, loopback receiver %d times (want 1 and 0)", redirects.Load(), r.hits.Load())
	}
	if n := e.svc.stats.attempts[OutcomeSSRFBlocked].Load(); n != 5 {
		t.Fatalf("ssrf_blocked attempts = %d, want 5", n)
	}
}
