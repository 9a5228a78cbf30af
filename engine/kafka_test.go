package engine_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/protocol/wsframe"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// Two instances on one broker: a PATCH on A is seen by B, an event posted to B reaches SSE
// subscribers on both, with the same instance-independent id.
func TestKafkaTwoInstancesShareConfigAndEvents(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := client.Config{Brokers: c.ListenAddrs()}
	a := startInstance(t, engine.Config{Kafka: &kc})
	b := startInstance(t, engine.Config{Kafka: &kc, OIDCBase: a.URL() + "/auth"}) // B trusts A's development issuer

	iss, err := devissuer.Load(a.cfgDataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener",
		"urn:ads:platform:event-service:event-sender", "urn:ads:platform:configuration-service:configuration-admin"}})
	if err != nil {
		t.Fatal(err)
	}
	patch := `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed"}]}}}`
	if code := do(t, "PATCH", a.URL()+"/configuration/v2/configuration/platform/push-service", tok, patch); code != 200 {
		t.Fatalf("PATCH on A: %d", code)
	}
	// B applies A's change within a second: its streams list shows the new stream.
	waitfor.Check(t, 2*time.Second, func() error {
		if body := get(t, b.URL()+"/stream/v1/streams", tok); !strings.Contains(body, `"orders"`) {
			return fmt.Errorf("B never saw the PATCH made on A: %s", body)
		}
		return nil
	})
	sa := openSSE(t, a.URL()+"/stream/v1/streams/orders", tok)
	sb := openSSE(t, b.URL()+"/stream/v1/streams/orders", tok)
	for i := 1; i <= 3; i++ {
		body := fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"seq":%d}}`, i)
		if code := do(t, "POST", b.URL()+"/event/v1/events", tok, body); code != 200 {
			t.Fatalf("POST on B: %d", code)
		}
	}
	idsA, idsB := sa.next(t, 3), sb.next(t, 3)
	for i := range idsA {
		if idsA[i].id != idsB[i].id || !strings.Contains(idsA[i].data, fmt.Sprintf(`"seq":%d`, i+1)) || idsA[i].data != idsB[i].data {
			t.Fatalf("event %d: A %+v, B %+v", i, idsA[i], idsB[i])
		}
	}
}

type instance struct {
	*engine.Server
	cfgDataDir string
}

func startInstance(t *testing.T, cfg engine.Config) instance {
	t.Helper()
	in := startUnready(t, cfg)
	waitfor.True(t, 10*time.Second, "the instance ready", func() bool {
		resp, err := http.Get(in.URL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return in
}

func do(t *testing.T, method, url, tok, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, url, tok string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

type sseEvent struct{ id, data string }

type sseStream struct{ r *bufio.Reader }

func openSSE(t *testing.T, url, tok string) *sseStream {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("SSE %s: %v %v", url, resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseStream{r: bufio.NewReader(resp.Body)}
}

// next reads n events (id + data), skipping comments and retry lines.
func (s *sseStream) next(t *testing.T, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	done := make(chan struct{})
	timer := time.AfterFunc(5*time.Second, func() { close(done) })
	defer timer.Stop()
	for len(out) < n {
		select {
		case <-done:
			t.Fatalf("timed out after %d of %d events", len(out), n)
		default:
		}
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		case line == "" && cur.data != "":
			out = append(out, cur)
			cur = sseEvent{}
		}
	}
	return out
}

// A client that read some events on one instance resumes on another instance whose history does
// not hold its id: the missed events are re-read from the topic, then live delivery continues,
// with no gap and no duplicate.
func TestKafkaResumeOnAnotherInstanceRereadsTheTopic(t *testing.T) {
	a, b, tok := twoInstancesWithOrders(t, engine.Config{HistorySize: -1})
	post := func(i int) {
		body := fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"seq":%d}}`, i)
		if code := do(t, "POST", a.URL()+"/event/v1/events", tok, body); code != 200 {
			t.Fatalf("POST: %d", code)
		}
	}
	sa := openSSE(t, a.URL()+"/stream/v1/streams/orders", tok)
	for i := 1; i <= 3; i++ {
		post(i)
	}
	seen := sa.next(t, 3)
	last := seen[2].id
	for i := 4; i <= 6; i++ {
		post(i)
	}
	// wait until B consumed them (its history is off, so they can only come from the topic)
	waitfor.True(t, 3*time.Second, "B consuming the events", func() bool {
		return strings.Contains(get(t, b.URL()+"/metrics", ""), "pushgate_events_total 6")
	})
	req, _ := http.NewRequest("GET", b.URL()+"/stream/v1/streams/orders", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Last-Event-ID", last)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("resume on B: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	sb := &sseStream{r: bufio.NewReader(resp.Body)}
	post(7)
	got := sb.next(t, 4)
	for i, e := range got {
		if !strings.Contains(e.data, fmt.Sprintf(`"seq":%d`, i+4)) {
			t.Fatalf("resumed event %d = %s, want seq %d (no gap, no duplicate)", i, e.data, i+4)
		}
	}
}

func waitStream(t *testing.T, base, tok string) {
	t.Helper()
	waitfor.True(t, 2*time.Second, "the stream configuration to propagate", func() bool {
		return strings.Contains(get(t, base+"/stream/v1/streams", tok), `"orders"`)
	})
}

// Socket.IO connection state recovery across instances: a client that saw some events on A
// reconnects to B with its pid and last offset; B replays what it missed (re-read from the topic)
// before the CONNECT reply, which carries the client's pid, so socket.io-client reports
// socket.recovered === true.
func TestKafkaSocketIORecoveryOnAnotherInstance(t *testing.T) {
	a, b, tok := twoInstancesWithOrders(t, engine.Config{HistorySize: -1})
	var ids []string
	sa := openSSE(t, a.URL()+"/stream/v1/streams/orders", tok)
	for i := 1; i <= 5; i++ {
		body := fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"seq":%d}}`, i)
		if code := do(t, "POST", a.URL()+"/event/v1/events", tok, body); code != 200 {
			t.Fatalf("POST: %d", code)
		}
	}
	for _, e := range sa.next(t, 5) {
		ids = append(ids, e.id)
	}
	waitfor.True(t, 3*time.Second, "B consuming the events", func() bool {
		return strings.Contains(get(t, b.URL()+"/metrics", ""), "pushgate_events_total 5")
	})
	// The client last saw event 2 (its offset) on A; it reconnects to B.
	conn, br := dialWS(t, b.Addr().String(), "stream=orders")
	auth := fmt.Sprintf(`{"token":%q,"pid":"pid-from-a","offset":%q}`, tok, ids[1])
	conn.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, []byte("40/demo,"+auth), [4]byte{1, 2, 3, 4}))
	var seqs []string
	for {
		p := string(frame(t, br))
		if strings.HasPrefix(p, "40/demo,") {
			if !strings.Contains(p, `"pid":"pid-from-a"`) {
				t.Fatalf("CONNECT reply %s: the client's pid must come back (recovered)", p)
			}
			break
		}
		if i := strings.Index(p, `"seq":`); i >= 0 {
			seqs = append(seqs, p[i+6:i+7])
		}
	}
	if strings.Join(seqs, ",") != "3,4,5" {
		t.Fatalf("replayed before the CONNECT reply: %v, want 3,4,5", seqs)
	}
}

// dialWS opens an Engine.IO WebSocket session with the extra query and reads the open packet.
func dialWS(t *testing.T, addr, query string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("GET /socket.io/?EIO=4&transport=websocket&" + query + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	frame(t, br) // open packet
	return c, br
}

// twoInstancesWithOrders starts a kfake broker and two instances on it (B trusts A's development
// issuer; bcfg adds B's settings), mints a token for the demo tenant, PATCHes the "orders" stream
// on A and waits until B sees it.
func twoInstancesWithOrders(t *testing.T, bcfg engine.Config) (a, b instance, tok string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := client.Config{Brokers: c.ListenAddrs()}
	a = startInstance(t, engine.Config{Kafka: &kc})
	bcfg.Kafka, bcfg.OIDCBase = &kc, a.URL()+"/auth"
	b = startInstance(t, bcfg)
	iss, err := devissuer.Load(a.cfgDataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, err = iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener",
		"urn:ads:platform:event-service:event-sender", "urn:ads:platform:configuration-service:configuration-admin"}})
	if err != nil {
		t.Fatal(err)
	}
	patch := `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed"}]}}}`
	if code := do(t, "PATCH", a.URL()+"/configuration/v2/configuration/platform/push-service", tok, patch); code != 200 {
		t.Fatalf("PATCH on A: %d", code)
	}
	waitStream(t, b.URL(), tok)
	return a, b, tok
}
