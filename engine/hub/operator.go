package hub

import (
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
)

// ConnInfo describes the connection behind a subscription, for the operator routes.
type ConnInfo struct {
	// ID names the connection: the Engine.IO session id, or the SSE request id.
	ID        string
	Transport string // "socketio" or "sse"
	Remote    string // the peer address
	Since     time.Time
	// Queued returns the bytes queued for the connection, not yet written (nil: unknown).
	Queued func() int
}

// Refreshed records the principal of a token refresh: revocations match it as well as the
// token the subscription was opened with.
func (sub *Subscription) Refreshed(p *auth.Principal) { sub.refreshed.Store(p) }

// Principals returns the principal the subscription was opened with and that of its latest
// refresh (nil when none).
func (sub *Subscription) Principals() (opened, refreshed *auth.Principal) {
	return sub.Principal, sub.refreshed.Load()
}

// Each calls fn for every live subscription, shard by shard under the shard's lock (a leaf: fn
// must only copy what it needs — no session or link lock, no call back into the hub).
func (h *Hub) Each(fn func(sub *Subscription)) {
	for _, sh := range h.shards {
		sh.mu.Lock()
		for _, subs := range sh.byStream {
			for _, sub := range subs {
				if !sub.gone.Load() {
					fn(sub)
				}
			}
		}
		sh.mu.Unlock()
	}
}

// EndWhere ends, with reason, every subscription match selects (each told once, as any
// server-initiated end) and returns how many it ended. match runs under a shard lock.
func (h *Hub) EndWhere(match func(sub *Subscription) bool, reason conn.CloseReason) int {
	var ends []*Subscription
	h.Each(func(sub *Subscription) {
		if match(sub) {
			ends = append(ends, sub)
		}
	})
	n := 0
	for _, sub := range ends {
		if h.remove(sub) {
			sub.Sink.End(reason)
			n++
		}
	}
	return n
}
