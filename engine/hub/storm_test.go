package hub

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/history"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// seqSink records the sequence numbers it receives and checks the hub's promises as they
// happen: nothing before the acknowledgement (OnStart), at most one End. Like a real transport
// it unsubscribes synchronously when ended, and when kickAfter > 0 it unsubscribes itself from
// inside Deliver after that many items (a slow consumer closed on the spot) — both would
// deadlock if the hub called them under a lock that Unsubscribe takes.
type seqSink struct {
	h         *Hub
	sub       *Subscription
	kickAfter int

	mu      sync.Mutex
	started bool
	seqs    []uint64
	ends    int
	bad     string
}

func (s *seqSink) fail(format string, args ...any) {
	if s.bad == "" {
		s.bad = fmt.Sprintf(format, args...)
	}
}

func (s *seqSink) Deliver(it *Item) (conn.Link, conn.Outcome) {
	s.mu.Lock()
	if !s.started {
		s.fail("item %d before the acknowledgement", it.Seq)
	}
	s.seqs = append(s.seqs, it.Seq)
	kick := s.kickAfter > 0 && len(s.seqs) == s.kickAfter
	s.mu.Unlock()
	if kick {
		s.h.Unsubscribe(s.sub)
	}
	return nil, conn.Queued
}

func (s *seqSink) End(conn.CloseReason) {
	s.mu.Lock()
	if !s.started {
		s.fail("ended before the acknowledgement")
	}
	s.ends++
	if s.ends > 1 {
		s.fail("ended %d times", s.ends)
	}
	s.mu.Unlock()
	s.h.Unsubscribe(s.sub)
}

func (s *seqSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs)
}

// check verifies that the items are first, first+1, ... with no gap and no duplicate (all
// items when want > 0). With first == 0 it checks only that they increase: a subscription
// being ended by SetRegistry may miss events of the registry that ends it.
func (s *seqSink) check(first uint64, want int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bad != "" {
		return fmt.Errorf("%s", s.bad)
	}
	for i, q := range s.seqs {
		if first == 0 {
			if i > 0 && q <= s.seqs[i-1] {
				return fmt.Errorf("item %d is seq %d after %d: out of order or duplicate", i, q, s.seqs[i-1])
			}
			continue
		}
		if q != first+uint64(i) {
			return fmt.Errorf("item %d is seq %d, want %d (first %d): gap or duplicate", i, q, first+uint64(i), first)
		}
	}
	if want > 0 && len(s.seqs) != want {
		return fmt.Errorf("%d items, want %d", len(s.seqs), want)
	}
	return nil
}

func newSeqSub(h *Hub, streamKey, id string, kickAfter int) (*Subscription, *seqSink) {
	sink := &seqSink{h: h, kickAfter: kickAfter}
	sub := &Subscription{Stream: streamKey, StreamID: id, Scope: tenant, Principal: auth.AnonymousPrincipal, Sink: sink}
	sub.OnStart = func() {
		sink.mu.Lock()
		sink.started = true
		sink.mu.Unlock()
	}
	sink.sub = sub
	return sub, sink
}

// finishWithin waits for wg, or fails with every goroutine's stack (a deadlock shows there).
func finishWithin(t *testing.T, d time.Duration, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatalf("storm did not finish within %v: deadlock? (stacks above)", d)
	}
}

// closeUnlessFailed stops h's workers after the test, unless it failed: a deadlocked worker
// would never stop, and the failure (with its stacks) must be reported, not hang.
func closeUnlessFailed(t *testing.T, h *Hub) {
	t.Cleanup(func() {
		if !t.Failed() {
			h.Close()
		}
	})
}

type churned struct {
	sink  *seqSink
	first uint64
}

// A storm of Publish (batch and single-item paths), Subscribe with and without replay,
// Unsubscribe (by the client, from inside Deliver, from End), SetRegistry ending subscriptions
// and Subscribe ended at once by a newer registry, all at the same time. It checks the hub's
// promises — every subscriber sees each event after its registration (or after its last id)
// exactly once and in order, nothing before its acknowledgement, at most one End — and the lock
// order: a violation deadlocks (the stacks are dumped) or races (-race).
func TestHubStorm(t *testing.T) {
	const events = 8000
	both := build(t, twoStreamDoc) // each event is two items: the batch path
	onlyS := build(t, pubDoc)      // stream t deleted: one item, the single-item path
	h := New(Config{Shards: 4, History: history.Config{Size: 2 * events, Age: time.Hour}}, both)
	closeUnlessFailed(t, h)
	sKey := key(t, both, "s")
	tKey := key(t, both, "t")

	var stable []*seqSink
	for range 4 {
		sub, sink := newSeqSub(h, sKey, "s", 0)
		h.Subscribe(sub, "", nil)
		stable = append(stable, sink)
	}

	var published atomic.Int64 // events whose Publish returned
	var running atomic.Bool
	running.Store(true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer running.Store(false)
		for i := 1; i <= events; i++ {
			h.Publish(event(strconv.Itoa(i), false))
			published.Store(int64(i))
		}
	}()

	var mu sync.Mutex
	var churn []churned
	var ended []*seqSink
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for running.Load() {
				last := ""
				if n := published.Load(); n > 0 && r.IntN(2) == 0 {
					last = strconv.FormatInt(1+r.Int64N(n), 10)
				}
				kick := 0
				if r.IntN(3) == 0 {
					kick = 1 + r.IntN(20)
				}
				sub, sink := newSeqSub(h, sKey, "s", kick)
				gap := false
				h.Subscribe(sub, last, func() { gap = true })
				first := sub.minSeq + 1
				if last != "" {
					n, _ := strconv.ParseUint(last, 10, 64)
					first = n + 1
				}
				if gap {
					sink.fail("gap reported for last id %s within the history", last)
				}
				for range r.IntN(50) {
					runtime.Gosched()
				}
				h.Unsubscribe(sub)
				// A stream that SetRegistry may delete at any moment.
				tsub, tsink := newSeqSub(h, tKey, "t", 0)
				h.Subscribe(tsub, "", nil)
				mu.Lock()
				churn = append(churn, churned{sink, first}, churned{tsink, 0})
				ended = append(ended, tsink)
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; running.Load(); i++ {
			if i%2 == 0 {
				h.SetRegistry(onlyS)
			} else {
				h.SetRegistry(both)
			}
			for range 200 {
				runtime.Gosched()
			}
		}
		h.SetRegistry(both)
	}()
	finishWithin(t, 15*time.Second, &wg)

	// A timeout is reported by the checks below, one per subscriber.
	_ = waitfor.Bool(10*time.Second, func() bool {
		for _, s := range stable {
			if s.count() < events {
				return false
			}
		}
		return true
	})
	for _, s := range stable {
		if err := s.check(1, events); err != nil {
			t.Errorf("stable subscriber: %v", err)
		}
	}
	for i, c := range churn {
		if err := c.sink.check(c.first, 0); err != nil {
			t.Errorf("churned subscriber %d: %v", i, err)
		}
	}
	if len(churn) < 10 {
		t.Errorf("only %d subscriptions churned during the storm", len(churn))
	}
	nEnded := 0
	for _, s := range ended {
		s.mu.Lock()
		nEnded += s.ends
		s.mu.Unlock()
	}
	// The t subscriptions still registered are ended now (stream deleted), once each.
	for _, c := range churn {
		h.Unsubscribe(c.sink.sub)
	}
	for _, s := range stable {
		h.Unsubscribe(s.sub)
	}
	if n := h.Stats.Subs.Load(); n != 0 {
		t.Errorf("%d subscriptions counted after all left, want 0", n)
	}
	for i, sh := range h.shards {
		sh.mu.Lock()
		if n := len(sh.byStream); n != 0 {
			t.Errorf("shard %d still indexes %d streams after all left", i, n)
		}
		sh.mu.Unlock()
	}
	t.Logf("%d events, %d churned subscriptions, %d ended by SetRegistry", events, len(churn), nEnded)
}

// Unsubscribe racing its own Subscribe (an SSE connection closing while its request is being
// served) leaves nothing registered, whichever comes first.
func TestUnsubscribeRacingSubscribe(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 2}, reg)
	closeUnlessFailed(t, h)
	k := key(t, reg, "s")
	var wg sync.WaitGroup
	for range 2000 {
		sub, _ := newSeqSub(h, k, "s", 0)
		wg.Add(2)
		go func() { defer wg.Done(); h.Subscribe(sub, "", nil) }()
		go func() { defer wg.Done(); h.Unsubscribe(sub) }()
	}
	finishWithin(t, 10*time.Second, &wg)
	if n := h.Stats.Subs.Load(); n != 0 {
		t.Fatalf("%d subscriptions counted after every one was unsubscribed, want 0", n)
	}
	for i, sh := range h.shards {
		sh.mu.Lock()
		n := len(sh.byStream[k])
		sh.mu.Unlock()
		if n != 0 {
			t.Fatalf("shard %d still holds %d subscriptions that were unsubscribed", i, n)
		}
	}
}
