package hub

import (
	"sync/atomic"

	"github.com/pushgate/pushgate/engine/tracing"
)

// counts are one shard's figures for one event.
type counts struct {
	targeted, delivered, dropped int64
}

func (c *counts) count(queued bool) {
	if queued {
		c.delivered++
	} else {
		c.dropped++
	}
}

// fanout is the fan-out span of one traced event: every shard adds its figures and the last one
// to finish ends the span, so the span covers matching and the whole fan-out and there is never
// one span per socket. It exists only for sampled events (tracing on).
type fanout struct {
	span                         tracing.Span
	streams                      int64
	pending                      atomic.Int32 // shards still to deliver the event
	targeted, delivered, dropped atomic.Int64
}

// shardDone adds one shard's figures; the last shard ends the span.
func (f *fanout) shardDone(c counts) {
	f.targeted.Add(c.targeted)
	f.delivered.Add(c.delivered)
	f.dropped.Add(c.dropped)
	if f.pending.Add(-1) == 0 {
		f.span.EndFanout(f.streams, f.targeted.Load(), f.delivered.Load(), f.dropped.Load())
	}
}
