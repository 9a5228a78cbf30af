package eventsource

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/adspevent"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/amqp/rabbittest"
	"github.com/pushgate/pushgate/engine/source"

	"github.com/pushgate/pushgate/internal/waitfor"
)

var broker *rabbittest.Broker

func TestMain(m *testing.M) { rabbittest.Main(m, &broker) }

const tenantURN = "urn:ads:platform:tenant-service:v2:/tenants/61f0a3c2"

func resolve(ref string) (string, bool) { return ref, ref == tenantURN }

// publishADSP publishes as apps/event-service/src/amqp/service.ts does: routing key
// <namespace>.<name>.<tenant URN>, body = JSON of the payload, the rest in headers.
func publishADSP(t *testing.T, p *rabbit.Publisher, tenant string, headers map[string]any, body string) {
	t.Helper()
	h := map[string]any{"namespace": "pdf-service", "name": "pdf-generated", "tenantId": tenant, "timestamp": "2026-05-01T17:00:00.000Z"}
	for k, v := range headers {
		h[k] = v
	}
	key := fmt.Sprintf("%s.%s.%s", h["namespace"], h["name"], tenant)
	if err := p.Publish(context.Background(), key, rabbit.Outgoing{ContentType: "application/json", Headers: h, Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
}

type collector struct {
	mu  sync.Mutex
	evs []*source.Event
}

func (c *collector) add(ev *source.Event) { c.mu.Lock(); c.evs = append(c.evs, ev); c.mu.Unlock() }
func (c *collector) snapshot() []*source.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*source.Event(nil), c.evs...)
}

func newSource(t *testing.T, dir string, exchange string) *Source {
	t.Helper()
	s, err := New(Config{
		Rabbit:  rabbit.Config{URL: broker.URL, Exchange: exchange, BackoffMax: 300 * time.Millisecond},
		DataDir: dir, ResolveTenant: resolve, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newPublisher(t *testing.T, exchange string) *rabbit.Publisher {
	t.Helper()
	p, err := rabbit.NewPublisher(rabbit.Config{URL: broker.URL, Exchange: exchange})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestEventRebuiltAsCoreCommon(t *testing.T) {
	s := newSource(t, t.TempDir(), "ev-convert")
	defer s.Close()
	var c collector
	s.Subscribe(c.add)
	waitfor.True(t, 60*time.Second, "consuming", func() bool { return s.Ready() == nil })
	p := newPublisher(t, "ev-convert")
	publishADSP(t, p, tenantURN, map[string]any{
		"correlationId": "job-1",
		"context":       map[string]any{"jobId": "job-1", "attempt": 2, "nested": map[string]any{"a": true}},
		"traceparent":   "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"id":            "0190d1f0-0000-7000-8000-000000000001",
	}, `{ "fileId": "urn:ads:platform:file-service:v1:/files/1", "n": [1, 2] }`)
	waitfor.True(t, 10*time.Second, "the event", func() bool { return len(c.snapshot()) == 1 })
	ev := c.snapshot()[0]
	want := `{"tenantId":"` + tenantURN + `","namespace":"pdf-service","name":"pdf-generated","timestamp":"2026-05-01T17:00:00.000Z","correlationId":"job-1","context":{"attempt":2,"jobId":"job-1","nested":{"a":true}},"id":"0190d1f0-0000-7000-8000-000000000001","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","payload":{"fileId":"urn:ads:platform:file-service:v1:/files/1","n":[1,2]}}`
	if string(ev.JSON) != want {
		t.Fatalf("event JSON\n got %s\nwant %s", ev.JSON, want)
	}
	if ev.TenantID != tenantURN || ev.Namespace != "pdf-service" || ev.Name != "pdf-generated" || ev.CorrelationID != "job-1" || !strings.HasSuffix(ev.ID, "-1") {
		t.Fatalf("event fields %+v", ev)
	}
}

func TestUnconvertibleMessagesAreDeadLettered(t *testing.T) {
	s := newSource(t, t.TempDir(), "ev-reject")
	defer s.Close()
	var c collector
	s.Subscribe(c.add)
	waitfor.True(t, 60*time.Second, "consuming", func() bool { return s.Ready() == nil })
	p := newPublisher(t, "ev-reject")
	before, _ := p.QueueMessages(DeadLetter)
	publishADSP(t, p, "", nil, `{}`)                                                   // no tenantId
	publishADSP(t, p, "urn:ads:platform:tenant-service:v2:/tenants/nobody", nil, `{}`) // unknown tenant
	publishADSP(t, p, tenantURN, nil, `not json`)
	publishADSP(t, p, tenantURN, nil, `{"x":"`+strings.Repeat("a", source.MaxEventBytes)+`"}`)
	publishADSP(t, p, tenantURN, map[string]any{"timestamp": "yesterday"}, `{}`)
	publishADSP(t, p, tenantURN, nil, `{"ok":true}`) // the consumer goes on
	waitfor.True(t, 10*time.Second, "the valid event", func() bool { return len(c.snapshot()) == 1 })
	rej := s.Rejections()
	for _, r := range adspevent.Reasons {
		if got := rej.Count(r); got != 1 {
			t.Errorf("rejections %s = %d, want 1", r, got)
		}
	}
	waitfor.True(t, 10*time.Second, "5 dead letters", func() bool {
		n, err := p.QueueMessages(DeadLetter)
		return err == nil && n-before == 5
	})
}

// A broker restart while consuming, and a pushgate restart (a new Source on the same data dir)
// while events are published, lose nothing and duplicate nothing.
func TestBrokerAndInstanceRestartLoseNothing(t *testing.T) {
	dir := t.TempDir()
	s := newSource(t, dir, "ev-restart")
	var c collector
	s.Subscribe(c.add)
	waitfor.True(t, 60*time.Second, "consuming", func() bool { return s.Ready() == nil })
	p := newPublisher(t, "ev-restart")
	publish := func(p *rabbit.Publisher, from, to int) {
		for i := from; i < to; i++ {
			publishADSP(t, p, tenantURN, nil, fmt.Sprintf(`{"i":%d}`, i))
		}
	}
	publish(p, 0, 20)
	waitfor.True(t, 10*time.Second, "20 events", func() bool { return len(c.snapshot()) == 20 })

	// pushgate restart: events published while no instance consumes wait in its queue.
	s.Close()
	publish(p, 20, 40)
	s = newSource(t, dir, "ev-restart")
	s.Subscribe(c.add)
	waitfor.True(t, 60*time.Second, "40 events", func() bool { return len(c.snapshot()) == 40 })

	// broker restart: transient messages in the quorum queue survive; the source reconnects.
	s.Close()
	publish(p, 40, 60) // queued, not consumed
	_ = p.Close()
	broker.StopNode()
	s = newSource(t, dir, "ev-restart")
	s.Subscribe(c.add)
	waitfor.True(t, 30*time.Second, "not ready while the broker is down", func() bool {
		err := s.Ready()
		return err != nil && strings.Contains(err.Error(), "connect")
	})
	if err := broker.StartNode(); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 60*time.Second, "60 events after the broker restart", func() bool { return len(c.snapshot()) == 60 })
	publish(newPublisher(t, "ev-restart"), 60, 70)
	waitfor.True(t, 30*time.Second, "70 events", func() bool { return len(c.snapshot()) == 70 })
	s.Close()
	for i, ev := range c.snapshot() {
		if want := fmt.Sprintf(`"payload":{"i":%d}}`, i); !strings.HasSuffix(string(ev.JSON), want) {
			t.Fatalf("event %d: %s, want …%s (lost, duplicated or reordered)", i, ev.JSON, want)
		}
	}
	if st := s.Stats(); st.Failures.Load() == 0 || st.Connects.Load() != 1 {
		t.Fatalf("failures = %d, connects = %d: want failed attempts, then one connection by itself", st.Failures.Load(), st.Connects.Load())
	}
}

// Wrong credentials: not ready, with the broker's reason and without the password.
func TestWrongCredentialsReportedWithoutPassword(t *testing.T) {
	bad := strings.Replace(broker.URL, "guest:guest@", "guest:hunter2-wrong@", 1)
	s, err := New(Config{Rabbit: rabbit.Config{URL: bad, BackoffMax: 200 * time.Millisecond}, DataDir: t.TempDir(), ResolveTenant: resolve, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Subscribe(func(*source.Event) {})
	var last error
	waitfor.True(t, 30*time.Second, "the credentials error", func() bool {
		last = s.Ready()
		return last != nil && strings.Contains(last.Error(), "403")
	})
	if strings.Contains(last.Error(), "hunter2") {
		t.Fatalf("password in the readiness error: %v", last)
	}
	waitfor.True(t, 30*time.Second, "retries", func() bool { return s.Stats().Failures.Load() >= 3 })
}

// amqps://: the broker's certificate is verified against --amqp-tls-ca; without it, refused.
func TestTLS(t *testing.T) {
	s, err := New(Config{Rabbit: rabbit.Config{URL: broker.TLSURL, CAFile: broker.CAFile, Exchange: "ev-tls"}, DataDir: t.TempDir(), ResolveTenant: resolve, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var c collector
	s.Subscribe(c.add)
	waitfor.True(t, 30*time.Second, "consuming over TLS", func() bool { return s.Ready() == nil })
	p, err := rabbit.NewPublisher(rabbit.Config{URL: broker.TLSURL, CAFile: broker.CAFile, Exchange: "ev-tls"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	publishADSP(t, p, tenantURN, nil, `{"tls":true}`)
	waitfor.True(t, 10*time.Second, "the event over TLS", func() bool { return len(c.snapshot()) == 1 })

	untrusted, err := New(Config{Rabbit: rabbit.Config{URL: broker.TLSURL, BackoffMax: 200 * time.Millisecond}, DataDir: t.TempDir(), ResolveTenant: resolve, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	untrusted.Subscribe(func(*source.Event) {})
	waitfor.True(t, 30*time.Second, "the certificate error", func() bool {
		err := untrusted.Ready()
		return err != nil && strings.Contains(err.Error(), "certificate")
	})
}

// Two processes on one data dir (the same instance id): the second is refused with the reason
// instead of taking half of the events.
func TestSameInstanceIDRefused(t *testing.T) {
	dir := t.TempDir()
	a := newSource(t, dir, "ev-dup")
	defer a.Close()
	a.Subscribe(func(*source.Event) {})
	waitfor.True(t, 30*time.Second, "the first consuming", func() bool { return a.Ready() == nil })
	b := newSource(t, dir, "ev-dup")
	defer b.Close()
	b.Subscribe(func(*source.Event) {})
	waitfor.Check(t, 30*time.Second, func() error {
		if err := b.Ready(); err == nil || !strings.Contains(err.Error(), "consumed by another process") {
			return fmt.Errorf("second source: %v", err)
		}
		return nil
	})
}
