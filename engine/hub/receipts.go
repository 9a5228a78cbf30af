package hub

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// Receipt is what became of one event in this process: the stream scopes it matched and how
// many subscribers it was queued to or dropped for. The shards add their figures as they deliver.
type Receipt struct {
	EventID         string
	TenantID        string
	Namespace, Name string
	Traceparent     string
	Origin          string // source.Event.Origin
	Seq             uint64
	At              time.Time // published to the hub
	// Streams are the ids of the stream scopes matched (one per scope).
	Streams []string

	event *source.Event // kept for Matched (the history keeps it as long)

	targeted, delivered, dropped, droppedSlow atomic.Int64
	done                                      atomic.Int64 // unix nanos when the last shard finished, 0 before
}

// Figures returns the subscribers targeted, delivered (queued to the connection) and dropped
// (the connection was closed, or too slow and closing), and when the fan-out ended (zero while
// it runs). DroppedSlow says how many of the dropped were slow consumers.
func (r *Receipt) Figures() (targeted, delivered, dropped int64, done time.Time) {
	if d := r.done.Load(); d != 0 {
		done = time.Unix(0, d).UTC()
	}
	return r.targeted.Load(), r.delivered.Load(), r.dropped.Load(), done
}

// DroppedSlow is how many of the dropped subscribers were slow consumers (the rest were closed).
func (r *Receipt) DroppedSlow() int64 { return r.droppedSlow.Load() }

// receipts keeps the receipts of the history window: at most size, none older than age.
type receipts struct {
	mu   sync.Mutex
	byID map[string]*Receipt
	ring []*Receipt // insertion order; ring[next] is the oldest once full
	next int
	age  time.Duration
}

func newReceipts(size int, age time.Duration) *receipts {
	if size <= 0 {
		return nil
	}
	return &receipts{byID: make(map[string]*Receipt, size), ring: make([]*Receipt, size), age: age}
}

func (rs *receipts) add(r *Receipt) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if old := rs.ring[rs.next]; old != nil && rs.byID[old.EventID] == old {
		delete(rs.byID, old.EventID)
	}
	rs.ring[rs.next] = r
	rs.next = (rs.next + 1) % len(rs.ring)
	rs.byID[r.EventID] = r
}

func (rs *receipts) get(id string, now time.Time) (*Receipt, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.byID[id]
	if !ok || (rs.age > 0 && now.Sub(r.At) > rs.age) {
		return nil, false
	}
	return r, true
}

// init starts the receipt of ev and its items.
func (r *Receipt) init(ev *source.Event, seq uint64, items []*Item, now time.Time) {
	r.EventID, r.TenantID, r.Namespace, r.Name = ev.ID, ev.TenantID, ev.Namespace, ev.Name
	r.Traceparent, r.Origin, r.Seq, r.At, r.event = ev.Traceparent, ev.Origin, seq, now, ev
	if len(items) > 0 {
		r.Streams = make([]string, len(items))
		for i, it := range items {
			r.Streams[i] = it.Stream.ID
		}
	}
}

// Type is "<namespace>:<name>".
func (r *Receipt) Type() string { return r.Namespace + ":" + r.Name }

// Receipt returns the receipt of the event with id while it is within the history window.
func (h *Hub) Receipt(id string) (*Receipt, bool) {
	if h.receipts == nil {
		return nil, false
	}
	return h.receipts.get(id, time.Now())
}

// Received reports whether sub was registered for r's event and its stream scope (so it was
// delivered the event unless its criteria did not match or its connection dropped it).
func (sub *Subscription) Received(r *Receipt, it func(streamID string) bool) bool {
	return sub.minSeq < r.Seq && it(sub.StreamID)
}

// Matched reports whether sub's stream scope and criteria select r's event (projected again for
// sub's scope: an operator's question, not the hot path).
func (h *Hub) Matched(r *Receipt, sub *Subscription) bool {
	for _, it := range h.route(r.event, r.Seq, sub.Stream) {
		if sub.Criteria.Match(it.JSON) {
			return true
		}
	}
	return false
}
