package hub

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// gateSink blocks every Deliver until its gate opens: a subscriber whose writes are slow (a
// polling GET answered under its session lock, a stalled socket's session), made as slow as a
// test needs.
type gateSink struct {
	gate      chan struct{}
	enterOnce sync.Once
	entered   chan struct{} // closed when the first Deliver starts
	n         atomic.Int64
}

func newGateSink() *gateSink {
	return &gateSink{gate: make(chan struct{}), entered: make(chan struct{})}
}

func (s *gateSink) Deliver(*Item) (conn.Link, conn.Outcome) {
	s.enterOnce.Do(func() { close(s.entered) })
	<-s.gate
	s.n.Add(1)
	return nil, conn.Queued
}
func (s *gateSink) End(conn.CloseReason) {}

// within runs fn and reports whether it returned before d (fn keeps running otherwise).
func within(d time.Duration, fn func()) bool {
	done := make(chan struct{})
	go func() { fn(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// A shard whose subscriber is slow backs up its queue until Publish blocks on it. Subscribe
// (every Socket.IO CONNECT, every SSE request) must not wait for that shard: it used to queue
// behind the publish lock, which Publish held across the blocked channel send.
func TestSubscribeNotBlockedBySlowShard(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 2}, reg)
	defer h.Close()
	slow := newGateSink()
	slowSub := newSub(t, reg, "s", &recordingSink{})
	slowSub.Sink, slowSub.OnStart = slow, nil
	h.Subscribe(slowSub, "", nil)
	stalled := shardOf(slowSub)

	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 0; i < 2*cap(stalled.ch); i++ {
			h.Publish(event("e", false))
		}
	}()
	<-slow.entered
	waitfor.True(t, 10*time.Second, "the slow shard's queue to fill", func() bool { return len(stalled.ch) >= cap(stalled.ch) })
	// The publisher now blocks sending to the full queue (or is about to, on its next event).
	for i := range 3 {
		sink := &recordingSink{}
		sub := newSub(t, reg, "s", sink)
		if !within(2*time.Second, func() { h.Subscribe(sub, "", nil) }) {
			close(slow.gate)
			t.Fatalf("Subscribe %d blocked behind the stalled shard", i)
		}
		h.Unsubscribe(sub)
	}
	close(slow.gate)
	<-published
}

// The batch path (several items queued at once) must not hold the shard lock while a
// subscriber's Deliver runs: Subscribe and Unsubscribe of the same shard (and, through the
// publish lock, every other Subscribe) would wait for the slowest subscriber.
func TestShardLockNotHeldAcrossBatchDeliver(t *testing.T) {
	// Two streams matching the same event: each event is two items, always the batch path.
	reg := build(t, `{"s":{"id":"s","name":"S","publicSubscribe":true,"events":[{"namespace":"n","name":"e"}]},`+
		`"t":{"id":"t","name":"T","publicSubscribe":true,"events":[{"namespace":"n","name":"e"}]}}`)
	h := New(Config{Shards: 1}, reg)
	defer h.Close()
	slow := newGateSink()
	slowSub := newSub(t, reg, "s", &recordingSink{})
	slowSub.Sink, slowSub.OnStart = slow, nil
	h.Subscribe(slowSub, "", nil)
	other := newSub(t, reg, "t", &recordingSink{})
	h.Subscribe(other, "", nil)

	h.Publish(event("e1", false))
	<-slow.entered // the shard is inside Deliver of a two-item batch
	if !within(2*time.Second, func() { h.Unsubscribe(other) }) {
		close(slow.gate)
		t.Fatal("Unsubscribe blocked behind a batch delivery")
	}
	late := &recordingSink{}
	if !within(2*time.Second, func() { h.Subscribe(newSub(t, reg, "t", late), "", nil) }) {
		close(slow.gate)
		t.Fatal("Subscribe blocked behind a batch delivery")
	}
	close(slow.gate)
	h.Publish(event("e2", false))
	waitfor.Check(t, 5*time.Second, func() error {
		if n, got := slow.n.Load(), late.events(); n < 2 || len(got) < 2 {
			return fmt.Errorf("slow subscriber got %d items, late one %v; want 2 and [start item]", n, got)
		}
		return nil
	})
	if got := late.events(); len(got) != 2 {
		t.Fatalf("late subscriber saw %v, want [start item] (e2 only)", got)
	}
}

// shardOf is the shard sub was registered on.
func shardOf(sub *Subscription) *shard { return sub.shard.Load() }
