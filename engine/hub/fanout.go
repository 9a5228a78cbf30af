package hub

import (
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/conn"

	"github.com/pushgate/pushgate/engine/tracing"
)

// counts are one shard's figures for one event (dropped = droppedSlow + closed ones).
type counts struct {
	targeted, delivered, dropped, droppedSlow int64
}

// since is c minus an earlier reading of the same counts.
func (c counts) since(before counts) counts {
	return counts{c.targeted - before.targeted, c.delivered - before.delivered, c.dropped - before.dropped, c.droppedSlow - before.droppedSlow}
}

// countStream adds one item's figures to its stream scope's.
func (h *Hub) countStream(it *Item, c counts) {
	if c.delivered == 0 && c.dropped == 0 {
		return
	}
	st := h.streams.of(it.Stream.TenantID, it.Stream.ID)
	st.Deliveries.Add(c.delivered)
	st.Drops.Add(c.dropped)
}

func (c *counts) count(o conn.Outcome) {
	switch o {
	case conn.Queued:
		c.delivered++
	case conn.DroppedSlow:
		c.dropped++
		c.droppedSlow++
	default:
		c.dropped++
	}
}

// fanout follows one event through the shards: every shard adds its figures and the last one to
// finish ends the event's span (tracing on) and completes its receipt (history on), so the span
// covers matching and the whole fan-out and there is never one span per socket.
// The figures live in the embedded Receipt (one allocation per event for both), which the hub
// keeps for the history window.
type fanout struct {
	Receipt
	span    tracing.Span // the zero Span with tracing off or not sampled
	streams int64
	pending atomic.Int32 // shards still to deliver the event
}

// shardDone adds one shard's figures; the last shard completes the receipt and ends the span.
func (f *fanout) shardDone(c counts) {
	f.targeted.Add(c.targeted)
	f.delivered.Add(c.delivered)
	f.dropped.Add(c.dropped)
	f.droppedSlow.Add(c.droppedSlow)
	if f.pending.Add(-1) == 0 {
		f.done.Store(time.Now().UnixNano())
		f.span.EndFanout(f.streams, f.targeted.Load(), f.delivered.Load(), f.dropped.Load())
	}
}
