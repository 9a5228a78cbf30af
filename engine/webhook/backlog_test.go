package webhook

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// Beyond MaxPending, an event that a webhook lists is refused — by Track (the ingest, before it
// publishes) and by Record (Kafka, RabbitMQ: the batch is retried later) — and nothing of it is
// recorded; once deliveries end, events are accepted again.
func TestFullBacklogRefusesEvents(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxPending = 3; c.Timeout = 200 * time.Millisecond })
	r := newReceiver(t, 0) // hangs: the deliveries stay pending
	e.configure(tenantA, hookDoc("h1", r.url))
	for n := 1; n <= 3; n++ {
		e.observeDurably(pingEvent(tenantA, n))
	}
	tracked, err := e.svc.Track(pingEvent(tenantA, 4), func(error) { t.Error("done called for a refused event") })
	if tracked || !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("Track with 3 of 3 pending: tracked %v, err %v; want a refusal wrapping ErrBacklogFull", tracked, err)
	}
	if err := e.svc.Record([]*source.Event{pingEvent(tenantA, 5)}); !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("Record with 3 of 3 pending: %v; want ErrBacklogFull", err)
	}
	if n := e.pendingCount(); n != 3 {
		t.Fatalf("%d deliveries pending after the refusals, want 3", n)
	}
	if n := len(journaledEventRecords(t, e)); n != 3 {
		t.Fatalf("%d event records journaled after the refusals, want the 3 accepted events'", n)
	}
	if n := e.svc.stats.refused.Load(); n != 2 {
		t.Fatalf("refusals counted: %d, want 2", n)
	}
	// An event no webhook lists is not refused: it has no delivery to hold.
	other := pingEvent(tenantA, 6)
	other.Name = "unlisted"
	if tracked, err := e.svc.Track(other, nil); tracked || err != nil {
		t.Fatalf("an unlisted event: tracked %v, err %v", tracked, err)
	}
	// The receiver answers again: the attempts time out, the retries succeed, room comes back.
	r.status.Store(204)
	waitfor.True(t, 10*time.Second, "the backlog to drain", func() bool { return e.pendingCount() == 0 })
	e.observeDurably(pingEvent(tenantA, 7))
	waitfor.True(t, 10*time.Second, "the event accepted after the drain to be delivered", func() bool {
		for _, q := range r.requests() {
			if bytes.Contains(q.body, []byte(`"n":7`)) {
				return true
			}
		}
		return false
	})
}

// An empty backlog takes an event with more webhooks than the bound (else it could never be
// sent), and a negative bound refuses nothing.
func TestBacklogBoundEdges(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxPending = 1 })
	r := newReceiver(t, 0)
	e.configure(tenantA, hookDoc("h1", r.url, "h2", r.url))
	e.observeDurably(pingEvent(tenantA, 1))
	if n := e.pendingCount(); n != 2 {
		t.Fatalf("%d deliveries pending, want both of the first event's", n)
	}
	if _, err := e.svc.Track(pingEvent(tenantA, 2), nil); !errors.Is(err, ErrBacklogFull) {
		t.Fatalf("Track past the bound: %v", err)
	}
	u := newEnv(t, func(c *Config) { c.MaxPending = -1 })
	u.configure(tenantA, hookDoc("h1", r.url))
	for n := 1; n <= 20; n++ {
		u.observeDurably(pingEvent(tenantA, n))
	}
	if n := u.pendingCount(); n != 20 {
		t.Fatalf("unbounded: %d pending, want 20", n)
	}
}
