package webhook

import (
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// gatherService is a Service with only what gather uses.
func gatherService() *Service {
	return &Service{qsignal: make(chan struct{}, 1), stop: make(chan struct{})}
}

// enqueueLater queues n events, one every gap, as Observe does.
func enqueueLater(s *Service, n int, gap time.Duration) {
	go func() {
		for range n {
			time.Sleep(gap)
			s.qmu.Lock()
			s.queue = append(s.queue, &source.Event{})
			s.qmu.Unlock()
			select {
			case s.qsignal <- struct{}{}:
			default:
			}
		}
	}()
}

// A wave of events arriving a little apart, more than the previous batch held, is committed
// together: the probe waits for a quiet gap before committing.
func TestGatherWaitsForTheWave(t *testing.T) {
	s := gatherService()
	g := gatherer{window: time.Minute, quiet: 200 * time.Millisecond, stream: time.Hour, lastBatch: 1}
	g.committed()
	enqueueLater(s, 6, 5*time.Millisecond)
	if got := g.gather(s, []*source.Event{{}}); len(got) != 7 {
		t.Fatalf("gathered %d events, want the 7 of the wave", len(got))
	}
	if g.skipProbes != 0 || g.lastBatch != 7 {
		t.Fatalf("after a probe that gained: skipProbes %d, lastBatch %d", g.skipProbes, g.lastBatch)
	}
}

// A probe that gains nothing (one publisher sending one event at a time) makes the next
// probeEvery-1 commits skip it, so such a publisher does not wait the gap on every commit.
func TestGatherProbesRarelyWhenNothingComes(t *testing.T) {
	s := gatherService()
	g := gatherer{window: time.Minute, quiet: 20 * time.Millisecond, stream: time.Hour, lastBatch: 1}
	g.committed()
	if got := g.gather(s, []*source.Event{{}}); len(got) != 1 || g.skipProbes != probeEvery-1 {
		t.Fatalf("gathered %d, skipProbes %d", len(got), g.skipProbes)
	}
	for i := probeEvery - 2; i >= 0; i-- {
		enqueueLater(s, 1, 50*time.Millisecond) // arrives after gather returned: no probe waits for it
		if got := g.gather(s, []*source.Event{{}}); len(got) != 1 || g.skipProbes != i {
			t.Fatalf("gathered %d, skipProbes %d, want 1, %d", len(got), g.skipProbes, i)
		}
		waitQueued(t, s)
	}
	enqueueLater(s, 1, 5*time.Millisecond) // the next commit probes again
	g.quiet = time.Second
	if got := g.gather(s, []*source.Event{{}}); len(got) != 2 {
		t.Fatalf("the probe after probeEvery commits gathered %d, want 2", len(got))
	}
}

// An isolated event (no commit within the stream gap) is committed at once.
func TestGatherCommitsAnIsolatedEventAtOnce(t *testing.T) {
	s := gatherService()
	g := gatherer{window: time.Minute, quiet: time.Minute, stream: time.Millisecond, lastBatch: 5}
	g.lastCommit = time.Now().Add(-time.Second)
	if got := g.gather(s, []*source.Event{{}}); len(got) != 1 {
		t.Fatalf("gathered %d", len(got))
	}
}

// waitQueued takes the event enqueueLater sent, so the next gather starts from an empty queue.
func waitQueued(t *testing.T, s *Service) {
	t.Helper()
	select {
	case <-s.qsignal:
		s.takeQueue()
	case <-time.After(5 * time.Second):
		t.Fatal("the late event never came")
	}
}
