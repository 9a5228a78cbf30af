package webhook

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/store"

	"github.com/pushgate/pushgate/internal/waitfor"
)

func TestDeliversSignedADSPBodyAndEmitsTriggered(t *testing.T) {
	e := newEnv(t, nil)
	r := newReceiver(t, 200)
	e.configure(tenantA, hookDoc("h1", r.url))
	ev := e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "the delivery", func() bool { return len(r.requests()) == 1 })
	got := r.requests()[0]
	if want := string(appendBody(nil, ev)); string(got.body) != want {
		t.Fatalf("body %s, want %s", got.body, want)
	}
	if got.id != deliveryID(ev.ID, endpointKey(tenantA, "h1")) {
		t.Fatalf("webhook-id %q", got.id)
	}
	if ts, _ := strconv.ParseInt(got.ts, 10, 64); time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Fatalf("webhook-timestamp %q", got.ts)
	}
	sec := e.secret(tenantA, "h1")
	if !strings.HasPrefix(sec.Secret, "whsec_") || strings.Count(got.sig, "v1,") != 1 {
		t.Fatalf("secret %q… signature %q", sec.Secret[:8], got.sig)
	}
	verify(t, got, sec.Secret)
	waitfor.True(t, 5*time.Second, "webhook-triggered", func() bool { return len(e.emitted(TriggeredName)) == 1 })
	tr := e.emitted(TriggeredName)[0]
	var p struct {
		Payload struct {
			Webhook  map[string]any `json:"webhook"`
			Trigger  map[string]any `json:"trigger"`
			Response struct {
				Status     string  `json:"status"`
				StatusCode int     `json:"statusCode"`
				Timestamp  *string `json:"timestamp"`
			} `json:"response"`
			ResponseTime *float64 `json:"responseTime"`
			Outcome      string   `json:"outcome"`
		} `json:"payload"`
		Context map[string]string `json:"context"`
	}
	if err := json.Unmarshal(tr.JSON, &p); err != nil {
		t.Fatal(err)
	}
	if tr.TenantID != tenantA || tr.CorrelationID != ev.CorrelationID || p.Context["name"] != "Hook h1" ||
		p.Payload.Webhook["url"] != r.url || p.Payload.Trigger["name"] != "ping" || p.Payload.Response.Status != "OK" ||
		p.Payload.Response.StatusCode != 200 || p.Payload.Response.Timestamp == nil || p.Payload.ResponseTime == nil || p.Payload.Outcome != "success" {
		t.Fatalf("webhook-triggered %s", tr.JSON)
	}
	// The emitted event never triggers a webhook, even one that lists it.
	e.configure(tenantA, `{"webhooks":{"loop":{"id":"l","name":"L","url":"`+r.url+`","events":[{"namespace":"push-service","name":"webhook-triggered"}]}}}`)
	e.svc.Observe(tr)
	att, _ := e.svc.Attempts(tenantA, "loop", 10)
	if pending, _, _ := e.svc.gauges(); pending != 0 || len(att.([]Attempt)) != 0 {
		t.Fatalf("webhook-triggered was queued: pending %d", pending)
	}
}

func TestReceiverDownThenUpEveryDeliveryArrives(t *testing.T) {
	sched := make([]time.Duration, 30)
	for i := range sched {
		sched[i] = 30 * time.Millisecond
	}
	sched[0] = 0
	e := newEnv(t, func(c *Config) { c.Schedule = sched; c.BreakerCooldown = 20 * time.Millisecond })
	r := newReceiver(t, 503)
	e.configure(tenantA, hookDoc("h1", r.url))
	want := map[string]bool{}
	for i := 0; i < 20; i++ {
		ev := e.publish(tenantA)
		want[deliveryID(ev.ID, endpointKey(tenantA, "h1"))] = true
	}
	waitfor.True(t, 10*time.Second, "failed attempts while down", func() bool { return r.hits.Load() >= 12 })
	r.status.Store(204)
	waitfor.True(t, 10*time.Second, "every delivery", func() bool { p, _, _ := e.svc.gauges(); return p == 0 })
	ok := map[string]int{}
	for _, q := range r.requests() {
		if !want[q.id] {
			t.Fatalf("unexpected webhook-id %q", q.id)
		}
		ok[q.id]++
	}
	if len(ok) != len(want) || e.svc.stats.delivered.Load() != 20 || e.svc.stats.dead.Load() != 0 {
		t.Fatalf("%d distinct ids, delivered %d, dead %d", len(ok), e.svc.stats.delivered.Load(), e.svc.stats.dead.Load())
	}
	// The breaker held attempts back: far fewer than 20 deliveries × every schedule slot.
	if f := e.svc.stats.attempts[OutcomeHTTP5xx].Load(); f >= 20*int64(len(sched)) {
		t.Fatalf("%d failed attempts: the circuit never opened", f)
	}
}

func TestGoneDisablesDeadLettersAndReplayKeepsIDs(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxInFlight = 1 })
	r := newReceiver(t, 410)
	e.configure(tenantA, hookDoc("h1", r.url))
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, deliveryID(e.publish(tenantA).ID, endpointKey(tenantA, "h1")))
	}
	waitfor.True(t, 5*time.Second, "3 dead letters", func() bool {
		dl, _ := e.svc.DeadLetters(tenantA, "h1")
		return len(dl.([]DeadLetter)) == 3
	})
	if r.hits.Load() != 1 {
		t.Fatalf("%d requests after a 410; want 1 (the others are dead-lettered, not sent)", r.hits.Load())
	}
	waitfor.True(t, 5*time.Second, "webhook-disabled", func() bool { return len(e.emitted(DisabledName)) == 1 })
	l, _ := e.svc.List(tenantA)
	if v := l.([]EndpointView); len(v) != 1 || !v[0].Disabled || !strings.Contains(v[0].DisabledReason, "410") {
		t.Fatalf("list %+v", v)
	}
	if _, err := e.svc.Replay(tenantA, "h1", nil, time.Time{}); err != errDisabled {
		t.Fatalf("replay while disabled: %v", err)
	}
	// A new event while disabled is dead-lettered, not dropped.
	ids = append(ids, deliveryID(e.publish(tenantA).ID, endpointKey(tenantA, "h1")))
	waitfor.True(t, 5*time.Second, "4th dead letter", func() bool {
		dl, _ := e.svc.DeadLetters(tenantA, "h1")
		return len(dl.([]DeadLetter)) == 4
	})
	r.status.Store(200)
	if _, err := e.svc.Enable(tenantA, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Replay(tenantA, "h1", ids[:1], time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 5*time.Second, "replayed one", func() bool { return r.hits.Load() == 2 })
	if _, err := e.svc.Replay(tenantA, "h1", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 5*time.Second, "replayed all", func() bool { return r.hits.Load() == 5 })
	seen := map[string]bool{}
	for _, q := range r.requests()[1:] {
		seen[q.id] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Fatalf("replay lost %s (seen %v)", id, seen)
		}
	}
	if dl, _ := e.svc.DeadLetters(tenantA, "h1"); len(dl.([]DeadLetter)) != 0 {
		t.Fatalf("dead letters left: %v", dl)
	}
}

func TestExhaustedAttemptsGoToDeadLetters(t *testing.T) {
	e := newEnv(t, nil) // 4 attempts
	r := newReceiver(t, 500)
	e.configure(tenantA, hookDoc("h1", r.url))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "dead letter", func() bool {
		dl, _ := e.svc.DeadLetters(tenantA, "h1")
		return len(dl.([]DeadLetter)) == 1
	})
	dl, _ := e.svc.DeadLetters(tenantA, "h1")
	d := dl.([]DeadLetter)[0]
	if d.Attempts != 4 || d.Reason != "attempts exhausted" || d.LastError != "HTTP 500" || r.hits.Load() != 4 {
		t.Fatalf("dead letter %+v after %d requests", d, r.hits.Load())
	}
	att, _ := e.svc.Attempts(tenantA, "h1", 10)
	raws := att.([]Attempt)
	first := raws[0]
	if len(raws) != 4 || first.Attempt != 4 || first.Outcome != OutcomeHTTP5xx || first.StatusCode != 500 || first.Response != "answer 500" {
		t.Fatalf("attempts %+v", raws)
	}
}

func TestHangingReceiverDoesNotDelayOthers(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Timeout = 3 * time.Second; c.MaxInFlight = 2 })
	hang := newReceiver(t, 0)
	fast := newReceiver(t, 200)
	e.configure(tenantA, hookDoc("hang", hang.url, "fast", fast.url))
	start := time.Now()
	for i := 0; i < 50; i++ {
		e.publish(tenantA)
	}
	waitfor.True(t, 5*time.Second, "50 deliveries to the fast receiver", func() bool { return len(fast.requests()) == 50 })
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("fast receiver took %v (the hanging one held it up)", took)
	}
	if n := hang.hits.Load(); n > 2 {
		t.Fatalf("hanging receiver has %d concurrent requests; the cap is 2", n)
	}
}

func TestAttemptTimeoutIsRecorded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Timeout = 100 * time.Millisecond; c.Schedule = []time.Duration{0} })
	hang := newReceiver(t, 0)
	e.configure(tenantA, hookDoc("h1", hang.url))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "dead letter", func() bool {
		dl, _ := e.svc.DeadLetters(tenantA, "h1")
		return len(dl.([]DeadLetter)) == 1
	})
	att, _ := e.svc.Attempts(tenantA, "h1", 10)
	a := att.([]Attempt)[0]
	if a.Outcome != OutcomeTimeout || a.LatencyMS < 100 || e.svc.stats.attempts[OutcomeTimeout].Load() != 1 {
		t.Fatalf("attempt %+v", a)
	}
	tr := e.emitted(TriggeredName)
	waitfor.True(t, 5*time.Second, "webhook-triggered", func() bool { tr = e.emitted(TriggeredName); return len(tr) == 1 })
	if !strings.Contains(string(tr[0].JSON), `"response":{"status":"timeout","statusCode":null,"timestamp":null}`) {
		t.Fatalf("webhook-triggered for a timeout: %s", tr[0].JSON)
	}
}

func TestRemovedWebhookCancelsQueuedDeliveries(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Schedule = []time.Duration{0, time.Hour} })
	r := newReceiver(t, 503)
	e.configure(tenantA, hookDoc("h1", r.url, "h2", r.url))
	for i := 0; i < 3; i++ {
		e.publish(tenantA)
	}
	waitfor.True(t, 5*time.Second, "first attempts", func() bool { return r.hits.Load() == 6 && e.noneInFlight() })
	e.configure(tenantA, hookDoc("h2", r.url))
	if p, _, _ := e.svc.gauges(); p != 3 || e.svc.stats.cancelled.Load() != 3 {
		t.Fatalf("pending %d cancelled %d, want 3 and 3", p, e.svc.stats.cancelled.Load())
	}
	// A retry's record written while the webhook was removed is deleted once that write ends.
	var n, h1 int
	waitfor.True(t, 5*time.Second, "only h2's records stored", func() bool {
		n, h1 = 0, 0
		_ = e.st.EachWebhook(store.WebhookPending, func(k string, v []byte) error {
			if strings.Contains(string(v), `"endpoint":"`+strings.ReplaceAll(endpointKey(tenantA, "h1"), "\n", `\n`)+`"`) {
				h1++
			}
			n++
			return nil
		})
		return n == 3 && h1 == 0
	})
	if _, err := e.svc.Secret(tenantA, "h1"); err != errNotFound {
		t.Fatalf("removed webhook still has a secret: %v", err)
	}
}

func TestFailingLongerThanDisableAfterDisables(t *testing.T) {
	sched := make([]time.Duration, 100)
	for i := range sched {
		sched[i] = 10 * time.Millisecond
	}
	e := newEnv(t, func(c *Config) {
		c.Schedule = sched
		c.DisableAfter = 200 * time.Millisecond
		c.BreakerCooldown = 20 * time.Millisecond
	})
	r := newReceiver(t, 500)
	e.configure(tenantA, hookDoc("h1", r.url))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "disabled", func() bool { return len(e.emitted(DisabledName)) == 1 })
	l, _ := e.svc.List(tenantA)
	v := l.([]EndpointView)[0]
	if !v.Disabled || !strings.HasPrefix(v.DisabledReason, "failing since") {
		t.Fatalf("%+v", v)
	}
	var p disabledPayload
	var outer struct{ Payload json.RawMessage }
	_ = json.Unmarshal(e.emitted(DisabledName)[0].JSON, &outer)
	if err := json.Unmarshal(outer.Payload, &p); err != nil || p.Webhook.Key != "h1" || p.Webhook.URL != r.url {
		t.Fatalf("webhook-disabled payload %s", outer.Payload)
	}
}

func TestRotationSignsWithBothSecretsDuringTheOverlap(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RotationOverlap = 300 * time.Millisecond })
	r := newReceiver(t, 200)
	e.configure(tenantA, hookDoc("h1", r.url))
	old := e.secret(tenantA, "h1").Secret
	v, err := e.svc.RotateSecret(tenantA, "h1")
	if err != nil {
		t.Fatal(err)
	}
	rot := v.(SecretView)
	if rot.Secret == old || rot.Previous != old || rot.PreviousValidUntil == nil {
		t.Fatalf("rotation %+v", rot)
	}
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "delivery", func() bool { return len(r.requests()) == 1 })
	q := r.requests()[0]
	verify(t, q, rot.Secret, old)
	waitfor.True(t, 5*time.Second, "overlap end", func() bool { return time.Now().After(*rot.PreviousValidUntil) })
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "delivery", func() bool { return len(r.requests()) == 2 })
	q = r.requests()[1]
	verify(t, q, rot.Secret)
	if strings.Count(q.sig, "v1,") != 1 {
		t.Fatalf("old secret still signs after the overlap: %q", q.sig)
	}
	// The rotation survives a restart.
	e.close()
	e.open(nil)
	if got := e.secret(tenantA, "h1").Secret; got != rot.Secret {
		t.Fatal("secret changed across a restart")
	}
}

func TestPendingSurvivesRestartWithSameID(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Schedule = []time.Duration{0, time.Hour} })
	r := newReceiver(t, 503)
	e.configure(tenantA, hookDoc("h1", r.url))
	ev := e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "first attempt", func() bool { return r.hits.Load() == 1 && e.noneInFlight() })
	e.close()
	r.status.Store(200)
	e.open(func(c *Config) { c.Schedule = []time.Duration{0, time.Hour} })
	// Due in an hour: the restart keeps the schedule. A replay-free way to check it is pending:
	if p, _, _ := e.svc.gauges(); p != 1 {
		t.Fatalf("pending after restart = %d", p)
	}
	e.close()
	e.open(func(c *Config) { c.Schedule = []time.Duration{0, time.Hour} })
	e.svc.mu.Lock()
	for _, d := range e.svc.pending { // make it due now, as if the hour had passed
		d.Due = time.Now()
	}
	e.svc.mu.Unlock()
	e.svc.kick()
	waitfor.True(t, 5*time.Second, "redelivery", func() bool { return r.hits.Load() == 2 })
	if q := r.requests(); q[0].id != q[1].id || q[1].id != deliveryID(ev.ID, endpointKey(tenantA, "h1")) {
		t.Fatalf("ids %q %q", q[0].id, q[1].id)
	}
}

// A removed webhook's attempt in flight is aborted (its connection closed) rather than left to
// run out its timeout; Close does the same.
func TestRemovedWebhookAbortsItsAttemptInFlight(t *testing.T) {
	for _, how := range []string{"removed", "closed"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Timeout = time.Minute })
			started, ended := make(chan struct{}, 1), make(chan struct{}, 1)
			addr := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				started <- struct{}{}
				<-r.Context().Done() // the client closed the connection
				ended <- struct{}{}
			})
			e.configure(tenantA, hookDoc("h1", "http://"+addr+"/hook"))
			e.publish(tenantA)
			select { // the request reached the receiver
			case <-started:
			case <-time.After(5 * time.Second):
				t.Fatal("no attempt")
			}
			if how == "removed" {
				e.configure(tenantA, `{}`)
			} else {
				e.svc.Close()
			}
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("the receiver still holds the request 5 s after the webhook was " + how)
			}
		})
	}
}

// https receivers: the certificate is verified (against Settings.RootCAs here) and the signed
// request arrives; an unknown certificate authority is a network failure.
func TestDeliversOverTLS(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("webhook-id"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	e := newEnv(t, func(c *Config) { c.RootCAs = roots })
	e.configure(tenantA, hookDoc("h1", srv.URL+"/hook"))
	ev := e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "the delivery over https", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1 && got[0] == deliveryID(ev.ID, endpointKey(tenantA, "h1"))
	})

	untrusted := newEnv(t, func(c *Config) { c.Schedule = []time.Duration{0} })
	untrusted.configure(tenantA, hookDoc("h1", srv.URL+"/hook"))
	untrusted.publish(tenantA)
	waitfor.True(t, 5*time.Second, "a dead letter", func() bool {
		dl, _ := untrusted.svc.DeadLetters(tenantA, "h1")
		return len(dl.([]DeadLetter)) == 1
	})
	att, _ := untrusted.svc.Attempts(tenantA, "h1", 10)
	if a := att.([]Attempt)[0]; a.Outcome != OutcomeNetwork || !strings.Contains(a.Error, "certificate") {
		t.Fatalf("attempt to an untrusted certificate: %+v", a)
	}
}

// The request goes to the URL as configured: path (unnormalised) and query kept, user
// information sent as Basic authentication, never followed by a redirect.
func TestRequestTargetAsConfigured(t *testing.T) {
	type seen struct{ uri, user, pass, host string }
	ch := make(chan seen, 1)
	addr := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		ch <- seen{r.RequestURI, u, p, r.Host}
		w.WriteHeader(http.StatusNoContent)
	})
	e := newEnv(t, nil)
	e.configure(tenantA, hookDoc("h1", "http://us%40er:p%3Ass@"+addr+"/a//b/../c?x=1&y=%2F"))
	e.publish(tenantA)
	select {
	case got := <-ch:
		want := seen{"/a//b/../c?x=1&y=%2F", "us@er", "p:ss", addr}
		if got != want {
			t.Fatalf("request %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no request")
	}
}

// The answer decides by its status: a body beyond what is read (64 KiB) does not turn a 2xx into
// a failure, and the attempt log keeps the first KiB of a readable one.
func TestAnswerStatusDecidesWhateverTheBody(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	addr := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/big") {
			_, _ = io.WriteString(w, big) // 200, 200 KiB
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"`+strings.Repeat("y", 2000)+`"}`)
	})
	e := newEnv(t, func(c *Config) { c.Schedule = []time.Duration{0} })
	base := "http://" + addr
	e.configure(tenantA, hookDoc("big", base+"/big", "bad", base+"/bad"))
	e.publish(tenantA)
	var big0, bad0 Attempt
	waitfor.True(t, 5*time.Second, "both attempts", func() bool {
		a, _ := e.svc.Attempts(tenantA, "big", 1)
		b, _ := e.svc.Attempts(tenantA, "bad", 1)
		if len(a.([]Attempt)) == 0 || len(b.([]Attempt)) == 0 {
			return false
		}
		big0, bad0 = a.([]Attempt)[0], b.([]Attempt)[0]
		return true
	})
	if big0.Outcome != OutcomeSuccess || big0.StatusCode != 200 {
		t.Fatalf("200 with a 200 KiB body: %+v", big0)
	}
	if bad0.Outcome != OutcomeHTTP4xx || bad0.StatusCode != 400 || len(bad0.Response) != maxResponseExcerpt || !strings.HasPrefix(bad0.Response, `{"error":"yyy`) {
		t.Fatalf("400 with a 2 KB body: outcome %s status %d excerpt %d bytes", bad0.Outcome, bad0.StatusCode, len(bad0.Response))
	}
}

// A receiver that closes idle kept-alive connections (Node's default after 5 s) costs no failed
// attempt: the request that finds its pooled connection closed is sent again at once.
func TestReceiverClosingIdleConnectionsCostsNoAttempt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := &http.Server{IdleTimeout: 30 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	e := newEnv(t, func(c *Config) { c.Schedule = []time.Duration{0} })
	e.configure(tenantA, hookDoc("h1", "http://"+ln.Addr().String()+"/hook"))
	for i := 1; i <= 3; i++ {
		e.publish(tenantA)
		waitfor.True(t, 5*time.Second, "the delivery", func() bool { return hits.Load() == int64(i) })
		time.Sleep(100 * time.Millisecond) // the receiver closes the idle connection meanwhile
	}
	att, _ := e.svc.Attempts(tenantA, "h1", 10)
	for _, a := range att.([]Attempt) {
		if a.Outcome != OutcomeSuccess {
			t.Fatalf("attempt %+v", a)
		}
	}
	if dl, _ := e.svc.DeadLetters(tenantA, "h1"); len(dl.([]DeadLetter)) != 0 {
		t.Fatalf("dead letters: %+v", dl)
	}
}

// Large answer headers (a CDN's policy headers and cookies) are read like any other answer.
func TestLargeAnswerHeaders(t *testing.T) {
	var hits atomic.Int64
	addr := serveLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		hits.Add(1)
		for i := 0; i < 8; i++ {
			w.Header().Add("Set-Cookie", fmt.Sprintf("c%d=%s", i, strings.Repeat("v", 1500)))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	e := newEnv(t, func(c *Config) { c.Schedule = []time.Duration{0} })
	e.configure(tenantA, hookDoc("h1", "http://"+addr+"/hook"))
	e.publish(tenantA)
	var a Attempt
	waitfor.True(t, 5*time.Second, "the attempt", func() bool {
		att, _ := e.svc.Attempts(tenantA, "h1", 1)
		if len(att.([]Attempt)) == 0 {
			return false
		}
		a = att.([]Attempt)[0]
		return true
	})
	if a.Outcome != OutcomeSuccess || hits.Load() != 1 {
		t.Fatalf("12 KB of answer headers: %+v", a)
	}
}

// A webhook whose URL changes sends its next deliveries to the new URL (with the same secret).
func TestChangedURLTakesTheNextDeliveries(t *testing.T) {
	e := newEnv(t, nil)
	a, b := newReceiver(t, 204), newReceiver(t, 204)
	e.configure(tenantA, hookDoc("h1", a.url))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "the first delivery at the old URL", func() bool { return a.hits.Load() == 1 })
	sec := e.secret(tenantA, "h1").Secret
	e.configure(tenantA, hookDoc("h1", b.url))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "the second delivery at the new URL", func() bool { return b.hits.Load() == 1 })
	if a.hits.Load() != 1 {
		t.Fatalf("the old URL got %d requests", a.hits.Load())
	}
	verify(t, b.requests()[0], sec)
}
