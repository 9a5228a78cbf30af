package webhookqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/amqp/rabbittest"
	"github.com/pushgate/pushgate/engine/source"

	"github.com/pushgate/pushgate/internal/waitfor"
)

var broker *rabbittest.Broker

func TestMain(m *testing.M) { rabbittest.Main(m, &broker) }

const tenantURN = "urn:ads:platform:tenant-service:v2:/tenants/61f0a3c2"

func resolve(ref string) (string, bool) { return ref, ref == tenantURN }

func newConsumer(t *testing.T, exchange, queue string) *Consumer {
	t.Helper()
	c, err := New(Config{Rabbit: rabbit.Config{URL: broker.URL, Exchange: exchange, BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		Queue: queue, ResolveTenant: resolve, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, c *Consumer, record func([]*source.Event) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx, record) }()
	waitfor.True(t, 60*time.Second, "consuming", func() bool { return c.Ready() == nil })
	return func() { cancel(); <-done }
}

// publish sends n ADSP-style events (as apps/event-service/src/amqp/service.ts), without message
// ids (older event services) unless withID.
func publish(t *testing.T, exchange string, from, n int, withID bool) {
	t.Helper()
	p, err := rabbit.NewPublisher(rabbit.Config{URL: broker.URL, Exchange: exchange})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := from; i < from+n; i++ {
		m := rabbit.Outgoing{ContentType: "application/json", Body: []byte(fmt.Sprintf(`{"i":%d}`, i)), Headers: map[string]any{
			"namespace": "cl", "name": "e", "tenantId": tenantURN, "timestamp": "2026-01-02T03:04:05.000Z"}}
		if withID {
			m.MessageID = fmt.Sprintf("0190d1f0-%04d", i)
		}
		if err := p.Publish(context.Background(), "cl.e."+tenantURN, m); err != nil {
			t.Fatal(err)
		}
	}
}

type ids struct {
	mu  sync.Mutex
	got map[string]int
}

func (r *ids) record(batch []*source.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range batch {
		r.got[ev.ID]++
	}
	return nil
}

func (r *ids) len() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }

// A record error acks nothing; the batch comes again with the same ids; a crash (the consumer
// gone before its ack) hands the messages to the next consumer with the same ids.
func TestAckOnlyAfterRecordSameIDsOnRedelivery(t *testing.T) {
	const ex, q = "wh-ack", "wh-ack-q"
	a := newConsumer(t, ex, q)
	var mu sync.Mutex
	var firstIDs []string
	fails := 0
	stopA := run(t, a, func(batch []*source.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if firstIDs == nil {
			for _, ev := range batch {
				firstIDs = append(firstIDs, ev.ID)
			}
		}
		fails++
		return errors.New("store unavailable")
	})
	publish(t, ex, 0, 5, false)
	publish(t, ex, 5, 5, true)
	waitfor.True(t, 10*time.Second, "retries", func() bool { mu.Lock(); defer mu.Unlock(); return fails >= 3 })
	stopA() // nothing was recorded: every message is redelivered
	if a.Stats().Acked.Load() != 0 {
		t.Fatalf("acked %d messages though Record failed", a.Stats().Acked.Load())
	}
	b := newConsumer(t, ex, q)
	rec := &ids{got: map[string]int{}}
	stopB := run(t, b, rec.record)
	defer stopB()
	waitfor.True(t, 10*time.Second, "10 events recorded", func() bool { return rec.len() == 10 })
	mu.Lock()
	defer mu.Unlock()
	for _, id := range firstIDs {
		if rec.got[id] != 1 {
			t.Fatalf("id %s of the first attempt recorded %d times after the redelivery: %v", id, rec.got[id], rec.got)
		}
	}
	if rec.got["amqp-0190d1f0-0007"] != 1 {
		t.Fatalf("message ids not used: %v", rec.got)
	}
}

// Two instances share the queue: each event is recorded by exactly one of them; a poison message
// is dead-lettered.
func TestCompetingConsumersAndDeadLetter(t *testing.T) {
	const ex, q = "wh-compete", "wh-compete-q"
	r1, r2 := &ids{got: map[string]int{}}, &ids{got: map[string]int{}}
	c1, c2 := newConsumer(t, ex, q), newConsumer(t, ex, q)
	defer run(t, c1, r1.record)()
	defer run(t, c2, r2.record)()
	p, err := rabbit.NewPublisher(rabbit.Config{URL: broker.URL, Exchange: ex})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dead0, _ := p.QueueMessages(DeadLetter)
	publish(t, ex, 0, 200, true)
	if err := p.Publish(context.Background(), "cl.e.x", rabbit.Outgoing{Body: []byte(`{}`), Headers: map[string]any{"namespace": "cl", "name": "e"}}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 20*time.Second, "200 events recorded", func() bool { return r1.len()+r2.len() == 200 })
	for id := range r1.got {
		if r2.got[id] != 0 || r1.got[id] != 1 {
			t.Fatalf("event %s recorded by both instances (or twice)", id)
		}
	}
	waitfor.True(t, 10*time.Second, "the poison message dead-lettered", func() bool {
		n, err := p.QueueMessages(DeadLetter)
		return err == nil && n == dead0+1
	})
	if got := c1.Rejections().Count("missing-tenant") + c2.Rejections().Count("missing-tenant"); got != 1 {
		t.Fatalf("missing-tenant rejections = %d", got)
	}
}
