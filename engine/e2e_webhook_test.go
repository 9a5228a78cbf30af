package engine_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// hookCall is one request a receiver got.
type hookCall struct {
	id, ts, sig, body string
}

type e2eReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	calls []hookCall
}

func e2eStartReceiver(t *testing.T) *e2eReceiver {
	r := &e2eReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.calls = append(r.calls, hookCall{req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), string(b)})
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *e2eReceiver) got() []hookCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookCall(nil), r.calls...)
}

func (r *e2eReceiver) wait(t *testing.T, n int) []hookCall {
	t.Helper()
	waitfor.Check(t, e2eWait, func() error {
		if got := len(r.got()); got < n {
			return fmt.Errorf("receiver got %d requests, want %d", got, n)
		}
		return nil
	})
	return r.got()
}

// The assembled server sends the webhooks of a PATCHed document (signed, ADSP body), emits
// push-service:webhook-triggered to streams, refuses a bad webhook with the field named, and
// stops a removed webhook at once.
func TestE2EWebhooksAssembled(t *testing.T) {
	e := e2eStart(t, nil)
	a, b := e2eStartReceiver(t), e2eStartReceiver(t)

	if st, body := e.do("PATCH", e2eConfigPath, e.demo, `{"operation":"UPDATE","update":{"webhooks":{"a":{"id":"a","name":"A","url":"gopher://x"}}}}`, nil); st != 400 || !strings.Contains(string(body), "webhooks.a.url") {
		t.Fatalf("bad webhook: %d %s, want 400 naming webhooks.a.url", st, body)
	}
	hooks := fmt.Sprintf(`{"a":{"id":"a","name":"A","url":%q,"events":[{"namespace":"shop","name":"order-placed"}]},
		"b":{"id":"b","name":"B","url":%q,"events":[{"namespace":"shop","name":"order-placed"},{"namespace":"shop","name":"order-shipped"}]}}`, a.URL, b.URL)
	e.patch(e.demo, "", `{"operation":"UPDATE","update":{"webhooks":`+hooks+`}}`)
	const triggered = `{"id":"triggered","name":"Triggered","events":[{"namespace":"push-service","name":"webhook-triggered","map":{"hook":"payload.webhook.name","code":"payload.response.statusCode"}}]}`
	e.stream(e.demo, "demo", "triggered", triggered)
	s := e.mustSSE("/stream/v1/streams/triggered", e.demo)

	st, list := e.do("GET", "/push/v1/webhooks", e.demo, "", nil)
	if st != 200 || !strings.Contains(string(list), `"a"`) || !strings.Contains(string(list), `"b"`) {
		t.Fatalf("GET /push/v1/webhooks: %d %s", st, list)
	}
	id := e.publish(e.demo, "shop", "order-placed", `"payload":{"orderId":7}`)
	call := a.wait(t, 1)[0]
	var body struct {
		TenantID  struct{ Service, Resource string } `json:"tenantId"`
		Namespace string                             `json:"namespace"`
		Name      string                             `json:"name"`
		Payload   struct{ OrderID int }              `json:"payload"`
	}
	if err := json.Unmarshal([]byte(call.body), &body); err != nil || body.TenantID.Service != "tenant-service" || body.Name != "order-placed" || body.Payload.OrderID != 7 {
		t.Fatalf("webhook body %s (event %s)", call.body, id)
	}
	st, sec := e.do("GET", "/push/v1/webhooks/a/secret", e.demo, "", nil)
	var secret struct{ Secret string }
	if st != 200 || json.Unmarshal(sec, &secret) != nil {
		t.Fatalf("GET secret: %d", st)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret.Secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret is not whsec_<base64>: %v", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(call.id + "." + call.ts + "." + call.body))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); call.sig != want {
		t.Errorf("webhook-signature %q, want %q", call.sig, want)
	}
	// One push-service:webhook-triggered per attempt (a's and b's), through the event source.
	for range 2 {
		if ev := s.next(t); !strings.Contains(ev.Data, `"name":"webhook-triggered"`) || !strings.Contains(ev.Data, `"code":200`) {
			t.Errorf("stream of push-service:webhook-triggered got %+v", ev)
		}
	}

	// Removing webhook a stops it at once: the event b also receives never reaches a.
	b.wait(t, 1)
	// (UPDATE merges into "webhooks" one level down, as configuration-service does: REPLACE removes.)
	e.patch(e.demo, "", fmt.Sprintf(`{"operation":"REPLACE","configuration":{"triggered":%s,"webhooks":{"b":{"id":"b","name":"B","url":%q,"events":[{"namespace":"shop","name":"order-placed"}]}}}}`, triggered, b.URL))
	e.publish(e.demo, "shop", "order-placed", `"payload":{"orderId":8}`)
	b.wait(t, 2)
	if n := len(a.got()); n != 1 {
		t.Errorf("removed webhook a got %d requests, want 1", n)
	}
	if st, _ := e.do("GET", "/push/v1/webhooks/a/attempts", e.demo, "", nil); st != 404 {
		t.Errorf("attempts of a removed webhook: %d, want 404", st)
	}
	_, m := e.do("GET", "/metrics", "", "", nil)
	for _, name := range []string{"pushgate_webhook_attempts_total", "pushgate_webhook_pending", "pushgate_webhook_attempt_duration_seconds", "pushgate_webhook_commit_events_count"} {
		if !strings.Contains(string(m), name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
}

// A receiver that is down (every connection dropped without an answer) through several retry
// rounds — attempts still dropped 7 s after the first: the circuit breaker opened and its
// half-open probes failed, so its cooldown grew (1 s, 2 s, 4 s) — and then comes back gets every
// delivery, each with its own webhook-id; none is lost or dead-lettered. The outage lasts until
// that condition holds (it used to be a fixed 30 s sleep).
func TestE2EWebhookReceiverDownThenUp(t *testing.T) {
	t.Parallel()
	e := e2eStart(t, func(c *engine.Config) {
		c.Webhooks.Schedule = append([]time.Duration{0}, slices.Repeat([]time.Duration{time.Second}, 60)...)
		c.Webhooks.BreakerCooldown = time.Second
	})
	var down atomic.Bool
	down.Store(true)
	var mu sync.Mutex
	ok, dropped := map[string]int{}, 0
	var firstDrop, lastDrop time.Time
	rx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if down.Load() {
			mu.Lock()
			dropped++
			if lastDrop = time.Now(); firstDrop.IsZero() {
				firstDrop = lastDrop
			}
			mu.Unlock()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		mu.Lock()
		ok[req.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer rx.Close()
	e.patch(e.demo, "", fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{"rx":{"id":"rx","name":"RX","url":%q,"events":[{"namespace":"shop","name":"order-placed"}]}}}}`, rx.URL))
	const n = 50
	for i := range n {
		e.publish(e.demo, "shop", "order-placed", fmt.Sprintf(`"payload":{"i":%d}`, i))
	}
	waitfor.True(t, 40*time.Second, "attempts dropped by the receiver 7 s after the first", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lastDrop.Sub(firstDrop) >= 7*time.Second
	})
	down.Store(false)
	waitfor.True(t, 45*time.Second, "every delivery after the receiver came back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ok) == n
	})
	_, m := e.do("GET", "/metrics", "", "", nil)
	for _, want := range []string{"\npushgate_webhook_pending 0\n", "\npushgate_webhook_deliveries_total{result=\"dead\"} 0\n",
		fmt.Sprintf("\npushgate_webhook_deliveries_total{result=\"delivered\"} %d\n", n)} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
	mu.Lock()
	// The circuit breaker keeps the attempts during the outage far below 50 × 30 schedule slots.
	t.Logf("receiver down for %v: %d attempts dropped (circuit breaker); after it came back all %d deliveries arrived", lastDrop.Sub(firstDrop).Round(time.Millisecond), dropped, len(ok))
	mu.Unlock()
	if dropped == 0 {
		t.Error("no attempt reached the receiver while it was down") // the outage was not exercised
	}
}

// A webhook's secret is readable as soon as the PATCH that created it answers (one process: the
// new endpoint's state is written locally before the write is live; only a replicated write, which
// waits for the config topic, is left to the sender's state goroutine).
func TestE2EWebhookSecretReadableAfterItsPatch(t *testing.T) {
	e := e2eStart(t, nil)
	rx := e2eStartReceiver(t)
	for i := range 20 {
		key := fmt.Sprintf("h%d", i)
		e.patch(e.demo, "", fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{%q:{"id":%q,"name":"H","url":%q,"events":[{"namespace":"shop","name":"order-placed"}]}}}}`, key, key, rx.URL))
		if st, _ := e.do("GET", "/push/v1/webhooks/"+key+"/secret", e.demo, "", nil); st != 200 {
			t.Fatalf("GET the secret of %s right after its PATCH: %d, want 200", key, st)
		}
	}
}

// A publish retried with the same Idempotency-Key for an event a webhook lists is answered at
// once with the first id, and the webhook is sent once. (The repeat used to wait for a record
// that never came — the bus drops it — and answered 503 after ten seconds.)
func TestE2ERepeatedPublishOfAWebhookEventAnswersAtOnce(t *testing.T) {
	e := e2eStart(t, nil)
	r := e2eStartReceiver(t)
	e.patch(e.demo, "", fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{"a":{"id":"a","name":"A","url":%q,"events":[{"namespace":"shop","name":"order-placed"}]}}}}`, r.URL))
	ev := `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-02T03:04:05Z","payload":{"orderId":9}}`
	hdr := map[string]string{"Content-Type": "application/json", "Idempotency-Key": "order-9"}
	var ids []string
	for i := range 2 {
		start := time.Now()
		st, body := e.do("POST", "/event/v1/events", e.demo, ev, hdr)
		if st != 200 || time.Since(start) > 3*time.Second {
			t.Fatalf("publish %d: %d %s after %v", i+1, st, body, time.Since(start))
		}
		ids = append(ids, string(body))
	}
	if ids[0] != ids[1] {
		t.Fatalf("the repeat was answered %s, the first %s", ids[1], ids[0])
	}
	r.wait(t, 1)
	time.Sleep(200 * time.Millisecond)
	if n := len(r.got()); n != 1 {
		t.Fatalf("the webhook was sent %d times, want 1", n)
	}
}

// With the pending deliveries at --webhook-max-pending (a receiver that does not answer), the
// next event a webhook lists is refused with 503 and Retry-After and counted; once the receiver
// answers and the deliveries end, events are accepted again. Nothing is lost: every accepted
// event is delivered once.
func TestE2EFullWebhookBacklogRefusesEvents(t *testing.T) {
	t.Parallel()
	e := e2eStart(t, func(c *engine.Config) { c.Webhooks.MaxPending = 2 })
	release := make(chan struct{})
	var mu sync.Mutex
	got := map[string]int{}
	rx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		<-release
		mu.Lock()
		got[req.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer rx.Close()
	e.patch(e.demo, "", fmt.Sprintf(`{"operation":"UPDATE","update":{"webhooks":{"rx":{"id":"rx","name":"RX","url":%q,"events":[{"namespace":"shop","name":"order-placed"}]}}}}`, rx.URL))
	e.publish(e.demo, "shop", "order-placed", `"payload":{"i":1}`)
	e.publish(e.demo, "shop", "order-placed", `"payload":{"i":2}`)
	st, body, hdr := e.doFull("POST", "/event/v1/events", e.demo,
		`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"i":3}}`, nil)
	if st != 503 || !strings.Contains(string(body), "webhook backlog is full: 2 deliveries pending") || hdr.Get("Retry-After") != "30" {
		t.Fatalf("third event with 2 of 2 pending: %d %s (Retry-After %q); want 503, the reason and Retry-After 30", st, body, hdr.Get("Retry-After"))
	}
	_, m := e.do("GET", "/metrics", "", "", nil)
	if !strings.Contains(string(m), "\npushgate_webhook_backlog_refusals_total 1\n") {
		t.Fatal("/metrics does not count the refusal")
	}
	close(release)
	waitfor.True(t, 10*time.Second, "the two accepted events delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2
	})
	waitfor.True(t, 10*time.Second, "room in the backlog", func() bool {
		_, m := e.do("GET", "/metrics", "", "", nil)
		return strings.Contains(string(m), "\npushgate_webhook_pending 0\n")
	})
	e.publish(e.demo, "shop", "order-placed", `"payload":{"i":3}`)
	waitfor.True(t, 10*time.Second, "the event accepted after the drain delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	for id, n := range got {
		if n != 1 {
			t.Errorf("delivery %s arrived %d times", id, n)
		}
	}
}
