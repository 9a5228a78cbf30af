package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/cluster"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/kafka/client"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// A WebSocket upgrade that lands on an instance other than the session's owner moves the
// session there: the owner holds none afterwards and relays nothing
// (pushgate_cluster_proxied_connections stays 0), the new owner completes the upgrade, and the
// client receives every event once — those it had already polled are not repeated, the one the
// owner had queued for its next GET comes first, then those published during and after the move.
func TestUpgradeOnAnotherInstanceMovesTheSession(t *testing.T) {
	broker, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	kc := client.Config{Brokers: broker.ListenAddrs()}
	a := startTestInstance(t, "insta", engine.Config{Kafka: &kc, DrainTimeout: 200 * time.Millisecond, PingInterval: time.Second, PingTimeout: 2 * time.Second})
	b := startTestInstance(t, "instb", engine.Config{Kafka: &kc, DrainTimeout: 200 * time.Millisecond, OIDCBase: a.srv.URL() + "/auth", PingInterval: time.Second, PingTimeout: 2 * time.Second})
	waitfor.True(t, 20*time.Second, "both instances see each other", func() bool { return len(a.inst.Peers()) == 2 && len(b.inst.Peers()) == 2 })

	iss, err := devissuer.Load(a.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener",
		"urn:ads:platform:event-service:event-sender", "urn:ads:platform:configuration-service:configuration-admin"}})
	if err != nil {
		t.Fatal(err)
	}
	patch := `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed"}]}}}`
	if st, body := httpDo(t, "PATCH", a.srv.URL()+"/configuration/v2/configuration/platform/push-service", tok, "application/json", patch); st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}
	waitfor.True(t, 5*time.Second, "B sees the stream", func() bool {
		_, body := httpDo(t, "GET", b.srv.URL()+"/stream/v1/streams", tok, "", "")
		return strings.Contains(body, `"orders"`)
	})
	publish := func(seq int) {
		body := fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"seq":%d}}`, seq)
		if st, resp := httpDo(t, "POST", a.srv.URL()+"/event/v1/events", tok, "application/json", body); st != 200 {
			t.Fatalf("POST event %d: %d %s", seq, st, resp)
		}
	}
	consumed := func(n int) {
		want := fmt.Sprintf("pushgate_events_total %d\n", n)
		waitfor.True(t, 5*time.Second, want, func() bool {
			_, ma := httpDo(t, "GET", a.srv.URL()+"/metrics", "", "", "")
			_, mb := httpDo(t, "GET", b.srv.URL()+"/metrics", "", "", "")
			return strings.Contains(ma, want) && strings.Contains(mb, want)
		})
	}

	// A polling session on A, joined to /demo, that has polled events 1-3.
	_, open := httpDo(t, "GET", a.srv.URL()+"/socket.io/?EIO=4&transport=polling&stream=orders", "", "", "")
	m := regexp.MustCompile(`"sid":"([^"]+)"`).FindStringSubmatch(open)
	if m == nil || !strings.HasPrefix(m[1], "insta.") {
		t.Fatalf("handshake on A: %s", open)
	}
	sid := m[1]
	poll := a.srv.URL() + "/socket.io/?EIO=4&transport=polling&sid=" + url.QueryEscape(sid)
	if st, body := httpDo(t, "POST", poll, "", "text/plain", `40/demo,{"token":"`+tok+`"}`); st != 200 {
		t.Fatalf("CONNECT: %d %s", st, body)
	}
	var polled []string
	pollUntil := func(done func() bool) {
		for !done() {
			st, body := httpDo(t, "GET", poll, "", "", "")
			if st != 200 {
				t.Fatalf("poll: %d %s", st, body)
			}
			for _, p := range strings.Split(body, "\x1e") {
				switch {
				case p == "2":
					httpDo(t, "POST", poll, "", "text/plain", "3")
				case strings.HasPrefix(p, "42/demo,"):
					polled = append(polled, seqOf(t, p))
				}
			}
		}
	}
	for i := 1; i <= 3; i++ {
		publish(i)
	}
	pollUntil(func() bool { return len(polled) >= 3 })
	if strings.Join(polled, ",") != "1,2,3" {
		t.Fatalf("polled on A: %v", polled)
	}
	// Event 4 is queued on A for a GET that never comes: the upgrade goes to B.
	publish(4)
	consumed(4)

	c, moved := probe(t, b.srv.URL(), sid)
	defer c.Close()
	publish(5) // during the upgrade: queued on B until "5"
	if err := wsutil.WriteClientText(c, []byte("5")); err != nil {
		t.Fatal(err)
	}
	publish(6)
	var got []string
	for len(got) < 3 {
		msg, err := wsutil.ReadServerText(c)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		switch s := string(msg); {
		case s == "2":
			_ = wsutil.WriteClientText(c, []byte("3"))
		case strings.HasPrefix(s, "42/demo,"):
			got = append(got, seqOf(t, s))
		default:
			t.Fatalf("unexpected packet %q", s)
		}
	}
	if strings.Join(got, ",") != "4,5,6" {
		t.Fatalf("over the moved WebSocket: %v, want 4,5,6 (after 1,2,3 polled on A)", got)
	}
	publish(7)
	if s := readSeq(t, c); s != "7" {
		t.Fatalf("after the move: event %s, want 7", s)
	}

	// The cost of the hand-over: the same upgrade for a session of B's own, on B.
	_, own := httpDo(t, "GET", b.srv.URL()+"/socket.io/?EIO=4&transport=polling", "", "", "")
	ownSID := regexp.MustCompile(`"sid":"([^"]+)"`).FindStringSubmatch(own)[1]
	oc, direct := probe(t, b.srv.URL(), ownSID)
	oc.Close()
	t.Logf("upgrade request to 3probe: %v with the hand-over from A, %v on the owner", moved, direct)

	if a.srv.SIO.Has(sid) || !b.srv.SIO.Has(sid) {
		t.Fatalf("session held by A %v, by B %v: want B only", a.srv.SIO.Has(sid), b.srv.SIO.Has(sid))
	}
	for name, in := range map[string]*testInstance{"A": a, "B": b} {
		_, m := httpDo(t, "GET", in.srv.URL()+"/metrics", "", "", "")
		for _, series := range []string{"pushgate_cluster_proxied_connections 0\n", "pushgate_cluster_proxied_total 0\n"} {
			if !strings.Contains(m, series) {
				t.Errorf("%s does not report %q: a WebSocket relayed to another instance", name, series)
			}
		}
	}
	_, am := httpDo(t, "GET", a.srv.URL()+"/metrics", "", "", "")
	if in := b.inst.Forwarder.MigratedIn.Load(); in != 1 || !strings.Contains(am, "pushgate_cluster_migrated_out_total 1\n") {
		t.Errorf("moved in to B %d (want 1); A's metrics do not say one moved out", in)
	}
	// A straggling poll for the moved session reaching A is forwarded to B (which says the
	// session is on WebSocket now), not answered "Session ID unknown".
	if st, body := httpDo(t, "GET", poll, "", "", ""); st != 400 || !strings.Contains(body, `"code":3`) {
		t.Errorf("poll on A after the move: %d %s, want B's 400 Bad request", st, body)
	}
}

// probe opens the WebSocket of an upgrade of sid on base and runs the probe (2probe, 3probe);
// it returns the socket and the time from the request to the 3probe.
func probe(t *testing.T, base, sid string) (net.Conn, time.Duration) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket&sid="+url.QueryEscape(sid))
	if err != nil {
		t.Fatalf("upgrade of %s on %s: %v", sid, base, err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := wsutil.WriteClientText(c, []byte("2probe")); err != nil {
		t.Fatal(err)
	}
	if msg, err := wsutil.ReadServerText(c); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q, %v", msg, err)
	}
	return c, time.Since(start)
}

func seqOf(t *testing.T, packet string) string {
	t.Helper()
	m := regexp.MustCompile(`"seq":(\d+)`).FindStringSubmatch(packet)
	if m == nil {
		t.Fatalf("event without seq: %s", packet)
	}
	return m[1]
}

func readSeq(t *testing.T, c io.ReadWriter) string {
	t.Helper()
	for {
		msg, err := wsutil.ReadServerText(c)
		if err != nil {
			t.Fatal(err)
		}
		switch s := string(msg); {
		case s == "2":
			_ = wsutil.WriteClientText(c, []byte("3"))
		case strings.HasPrefix(s, "42/demo,"):
			return seqOf(t, s)
		default:
			t.Fatalf("unexpected packet %q", s)
		}
	}
}

type testInstance struct {
	inst    *cluster.Instance
	srv     *engine.Server
	dataDir string
}

// startTestInstance runs one instance of a cluster in-process, as `pushgate serve
// --cluster-listen` does, and waits until it is ready.
func startTestInstance(t *testing.T, id string, cfg engine.Config) *testInstance {
	t.Helper()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	inst, err := cluster.NewInstance(cluster.InstanceConfig{ID: id, Listen: "127.0.0.1:0", Secret: []byte("test-secret-0123456789"), Kafka: *cfg.Kafka, Heartbeat: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := engine.Assemble(cfg, engine.Options{Instance: inst}) // closes inst on failure
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done // Run closes the instance after the drain
	})
	waitfor.True(t, 10*time.Second, "instance ready", func() bool {
		st, _ := httpDo(t, "GET", srv.URL()+"/readyz", "", "", "")
		return st == 200
	})
	return &testInstance{inst: inst, srv: srv, dataDir: cfg.DataDir}
}

func httpDo(t *testing.T, method, u, tok, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
