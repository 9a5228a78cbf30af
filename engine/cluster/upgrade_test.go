package cluster

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Polling sessions of worker 0 upgraded to WebSocket through the shared port: upgrades the
// kernel gives to worker 1 are moved to worker 0 (descriptor handoff) and complete there, and
// every upgraded socket receives the next event once.
func (e *procEnv) testUpgrade(t *testing.T) {
	var socks []net.Conn
	defer func() {
		for _, c := range socks {
			c.Close()
		}
	}()
	adopted := func() float64 {
		v, err := e.metric(0, "pushgate_connections_adopted_total")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := adopted()
	for attempt := 0; attempt < 40 && adopted()-before < 2; attempt++ {
		socks = append(socks, e.upgradedSession(t))
	}
	moved := adopted() - before
	if moved < 2 {
		t.Fatalf("%d upgrades through the port, %v moved to worker 0: the kernel never picked worker 1?", len(socks), moved)
	}
	handed, err := e.metric(1, "pushgate_connections_handed_off_total")
	if err != nil || handed < moved {
		t.Fatalf("worker 1 handed off %v (%v), worker 0 adopted %v", handed, err, moved)
	}
	t.Logf("%d sessions upgraded through the port, %v of them moved from worker 1 to worker 0", len(socks), moved)

	st, body := e.do(e.http, "POST", e.base+"/event/v1/events", `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"upgraded":true}}`, nil)
	if st != 200 {
		t.Fatalf("POST event: %d %s", st, body)
	}
	for i, c := range socks {
		if got := readEvent(t, c, `"upgraded":true`); !strings.HasPrefix(got, `42/demo,["shop:order-placed",`) {
			t.Fatalf("socket %d: %q", i, got)
		}
	}
}

// upgradedSession opens a polling session on worker 0, joins /demo there and upgrades it to
// WebSocket through the shared port (probe, then upgrade packet).
func (e *procEnv) upgradedSession(t *testing.T) net.Conn {
	t.Helper()
	st, body := e.unix(0, "GET", "/socket.io/?EIO=4&transport=polling&stream=orders", "", nil)
	if st != 200 || !strings.HasPrefix(body, `0{"sid":"w0.`) {
		t.Fatalf("handshake on worker 0: %d %s", st, body)
	}
	sid := strings.SplitN(strings.TrimPrefix(body, `0{"sid":"`), `"`, 2)[0]
	q := "/socket.io/?EIO=4&transport=polling&sid=" + url.QueryEscape(sid)
	text := map[string]string{"Content-Type": "text/plain"}
	if st, body := e.unix(0, "POST", q, `40/demo,{"token":"`+e.token+`"}`, text); st != 200 || body != "ok" {
		t.Fatalf("CONNECT: %d %s", st, body)
	}
	for joined := false; !joined; {
		st, body := e.unix(0, "GET", q, "", nil)
		if st != 200 {
			t.Fatalf("CONNECT reply: %d %s", st, body)
		}
		for _, p := range strings.Split(body, "\x1e") {
			switch {
			case p == "2": // the test's ping interval is 1s
				e.unix(0, "POST", q, "3", text)
			case strings.HasPrefix(p, "40/demo,"):
				joined = true
			default:
				t.Fatalf("CONNECT reply: %q", body)
			}
		}
	}
	u := "ws" + strings.TrimPrefix(e.base, "http") + "/socket.io/?EIO=4&transport=websocket&sid=" + url.QueryEscape(sid)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, _, err := ws.Dial(ctx, u)
	if err != nil {
		t.Fatalf("upgrade %s: %v", sid, err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(c, []byte("2probe")); err != nil {
		t.Fatal(err)
	}
	if msg, err := wsutil.ReadServerText(c); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q, %v", msg, err)
	}
	if err := wsutil.WriteClientText(c, []byte("5")); err != nil {
		t.Fatal(err)
	}
	return c
}

// readEvent reads packets from c, answering pings, until one contains want.
func readEvent(t *testing.T, c net.Conn, want string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	for {
		msg, err := wsutil.ReadServerText(c)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		switch s := string(msg); {
		case s == "2":
			if err := wsutil.WriteClientText(c, []byte("3")); err != nil {
				t.Fatal(err)
			}
		case strings.Contains(s, want):
			return s
		case s == "6", strings.HasPrefix(s, "42"): // noop; another event
		default:
			t.Fatalf("unexpected packet %q while waiting for %s", s, want)
		}
	}
}
