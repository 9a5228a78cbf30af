package engine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// lossyBalancer stands for a balancer in front of an instance that dies right after the write:
// it forwards the first POST to the instance and, the instance's answer notwithstanding,
// answers the publisher 502 (the event is written, the answer lost). Later requests pass.
func lossyBalancer(t *testing.T, backend string) string {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method == "POST" && posts.Add(1) == 1 {
			if r.StatusCode != 200 {
				return fmt.Errorf("the instance refused the first POST: %d", r.StatusCode)
			}
			return errors.New("connection to the instance reset after the write") // → 502
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// publishRetrying is a publisher's loop: POST with an Idempotency-Key; on anything but 200, retry
// the same request on the next base URL. It returns the statuses seen and the accepted answer.
func publishRetrying(t *testing.T, bases []string, tok, key, body string) (statuses []int, accepted string) {
	t.Helper()
	for _, base := range bases {
		req, _ := http.NewRequest("POST", base+"/event/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 200 {
			return statuses, string(b)
		}
	}
	t.Fatalf("never accepted: %v", statuses)
	return
}

// TestRetriedPublishDeliveredOnceEmbedded: the embedded bus drops the publisher's retry of an
// event whose answer was lost (502) and answers it with the first event's id.
func TestRetriedPublishDeliveredOnceEmbedded(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "orders", `{"id":"orders","name":"Orders","subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed"}]}`)
	sub := e.mustSSE("/stream/v1/streams/orders", e.demo)
	lb := lossyBalancer(t, e.url)
	ev := func(seq int) string {
		return fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"seq":%d}}`, seq)
	}
	statuses, answer := publishRetrying(t, []string{lb, e.url}, e.demo, "order-1", ev(1))
	if len(statuses) != 2 || statuses[0] != 502 {
		t.Fatalf("statuses %v, want 502 then 200", statuses)
	}
	if _, second := publishRetrying(t, []string{e.url}, e.demo, "order-2", ev(2)); second == answer {
		t.Fatal("a new key was answered with the first event's id")
	}
	first, next := sub.next(t), sub.next(t)
	if !strings.Contains(first.Data, `"seq":1`) || !strings.Contains(next.Data, `"seq":2`) {
		t.Fatalf("events %q then %q: want seq 1 once, then seq 2", first.Data, next.Data)
	}
	var a struct{ ID string }
	if err := json.Unmarshal([]byte(answer), &a); err != nil || a.ID != first.ID {
		t.Errorf("the retry was answered %s, want the first event's id %s", answer, first.ID)
	}
	// The key is the tenant's own: another tenant's event with the same key is its own event.
	if st, b := e.do("POST", "/event/v1/events", e.acme, ev(3), map[string]string{"Idempotency-Key": "order-1"}); st != 200 {
		t.Fatalf("acme's publish with demo's key: %d %s", st, b)
	}
	if st, b := e.do("POST", "/event/v1/events", e.demo, ev(4), map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}); st != 400 || !strings.Contains(string(b), "Idempotency-Key") {
		t.Errorf("a key of 256 characters: %d %s, want 400 naming Idempotency-Key", st, b)
	}
}

// TestRetriedPublishDeliveredOnceKafka: two instances on one broker; the first POST reaches A
// through a balancer that answers 502 after A wrote the event; the publisher retries on B. The
// topic holds both records; every instance's reader drops the repeat, so subscribers on A and on
// B get the event once.
func TestRetriedPublishDeliveredOnceKafka(t *testing.T) {
	a, b, tok := twoInstancesWithOrders(t, engine.Config{})
	sa := openSSE(t, a.URL()+"/stream/v1/streams/orders", tok)
	sb := openSSE(t, b.URL()+"/stream/v1/streams/orders", tok)
	ev := func(seq int) string {
		return fmt.Sprintf(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"seq":%d}}`, seq)
	}
	statuses, _ := publishRetrying(t, []string{lossyBalancer(t, a.URL()), b.URL()}, tok, "order-1", ev(1))
	if len(statuses) != 2 || statuses[0] != 502 {
		t.Fatalf("statuses %v, want 502 then 200", statuses)
	}
	publishRetrying(t, []string{a.URL()}, tok, "order-2", ev(2))
	for name, s := range map[string]*sseStream{"A": sa, "B": sb} {
		got := s.next(t, 2)
		if !strings.Contains(got[0].data, `"seq":1`) || !strings.Contains(got[1].data, `"seq":2`) {
			t.Errorf("instance %s delivered %q then %q: want seq 1 once, then seq 2", name, got[0].data, got[1].data)
		}
	}
	for name, in := range map[string]instance{"A": a, "B": b} {
		if !strings.Contains(get(t, in.URL()+"/metrics", tok), "\npushgate_kafka_duplicates_dropped_total 1\n") {
			t.Errorf("instance %s does not count the dropped repeat", name)
		}
	}
}

// TestBrokerOutageReadyzAndIngest: when the broker goes away, /readyz answers 503 with the
// reason well before the 10 s ReadyWindow, and a publish answers 503 with Retry-After and the
// reason in errorMessage.
func TestBrokerOutageReadyzAndIngest(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	kc := client.Config{Brokers: c.ListenAddrs(), PublishTimeout: time.Second}
	a := startInstance(t, engine.Config{Kafka: &kc})
	iss, err := devissuer.Load(a.cfgDataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"urn:ads:platform:event-service:event-sender"}})
	c.Close()
	down := time.Now()
	var body string
	waitfor.Check(t, 5*time.Second, func() error {
		resp, err := http.Get(a.URL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 {
			return fmt.Errorf("/readyz still %d %s after the broker went away", resp.StatusCode, b)
		}
		body = string(b)
		return nil
	})
	if !strings.Contains(body, "kafka:") {
		t.Errorf("/readyz 503 without the reason: %s", body)
	}
	t.Logf("/readyz 503 %s after the broker went away: %s", time.Since(down).Round(time.Millisecond), body)
	req, _ := http.NewRequest("POST", a.URL()+"/event/v1/events", strings.NewReader(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e struct{ ErrorMessage string }
	_ = json.Unmarshal(b, &e)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(e.ErrorMessage, "event broker") {
		t.Errorf("publish during the outage: %d Retry-After %q %s; want 503, Retry-After and the reason", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
}
