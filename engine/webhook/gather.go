package webhook

import (
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// Group commit. Each durable write of recorded deliveries costs a flush to disk (a journal append,
// ~60 µs of CPU; a store commit without the journal, ~240 µs), and the ingest answers an event
// only once its deliveries are durable (durable.go), so how many events share a write sets much of
// the cost of a delivery when events come one per request. The matcher therefore gathers while
// events stream in: with 16 one-event requests in flight, the answers to one write bring the next
// wave a few tens of microseconds apart (each request is parsed and verified on the same cores),
// and writing the first alone leaves the rest for the write after. It waits until the batch is as
// large as the previous one and holds every event an ingest is waiting for; then, so that batches
// can grow when more requests come, it probes: it waits for a quiet gap with no new event before
// writing. A probe that gains nothing (a lone publisher sending one event at a time, or every
// request already in) makes the next probes rare, so such a publisher pays the gap on one write
// in probeEvery.
//
// Measured (1 webhook, 16 one-event requests in flight, 30,000 events, store commits): 8.2–9.5
// events per commit without the probe, 11.5–12.3 with it (13.3–14 probing every time, which made
// a lone publisher wait the gap on every event).

const (
	// gatherWindow bounds how long one batch may gather.
	gatherWindow = 1 * time.Millisecond
	// quietGap is how long a probe waits for one more event.
	quietGap = 300 * time.Microsecond
	// streamGap: a commit that ended less than this ago means events are streaming in; an
	// isolated event is committed at once.
	streamGap = 2 * time.Millisecond
	// probeEvery: after a probe that gained nothing, one commit in probeEvery probes.
	probeEvery = 8
)

// gatherer is the matcher goroutine's state between commits.
type gatherer struct {
	window, quiet, stream time.Duration // the constants above; tests shorten or lengthen them
	lastCommit            time.Time
	lastBatch             int
	skipProbes            int // commits left before the next probe
}

func newGatherer() gatherer {
	return gatherer{window: gatherWindow, quiet: quietGap, stream: streamGap}
}

// committed notes the end of a commit.
func (g *gatherer) committed() { g.lastCommit = time.Now() }

// gather adds to batch the events s queues meanwhile (see above) and returns it.
func (g *gatherer) gather(s *Service, batch []*source.Event) []*source.Event {
	prev := g.lastBatch
	defer func() { g.lastBatch = len(batch) }()
	if time.Since(g.lastCommit) > g.stream {
		return batch
	}
	window := time.NewTimer(g.window)
	defer window.Stop()
	quiet := time.NewTimer(time.Hour)
	defer quiet.Stop()
	probe := g.skipProbes == 0
	if !probe {
		g.skipProbes--
	}
	gained := false // an event arrived while probing
	for {
		probing := len(batch) >= prev && s.ntracked.Load() <= int64(len(batch))
		if probing && !probe {
			return batch
		}
		if probing {
			quiet.Reset(g.quiet)
		} else {
			quiet.Stop()
		}
		select {
		case <-s.qsignal:
			batch = append(batch, s.takeQueue()...)
			gained = gained || probing
		case <-quiet.C:
			if !gained {
				g.skipProbes = probeEvery - 1
			}
			return batch
		case <-window.C:
			return batch
		case <-s.stop:
			return batch
		}
	}
}
