package webhook

import (
	"errors"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// Without Kafka the ingest (POST /event/v1/events) answers only once the event's webhook
// deliveries are durable: it calls Track before publishing, and the matcher calls the event's
// done after the journal write (or store transaction) holding the deliveries (one group commit
// for all the events matched meanwhile). So a kill -9 at any moment loses no acknowledged delivery.
// Events no webhook lists are not tracked and cost nothing.

// ErrNotRecorded is what a tracked event's done receives when its deliveries were not recorded
// (the match queue was full, the store failed, the wait timed out, or the service stopped).
var ErrNotRecorded = errors.New("webhook: deliveries not recorded")

// trackTimeout bounds how long a tracked event waits for its record (the store is stuck).
const trackTimeout = 10 * time.Second

// trackSweep is how often tracked events are checked against trackTimeout: one sweep for all of
// them instead of a timer per ingest (a timer was ~2 % of the CPU of a one-event POST).
const trackSweep = time.Second

// tracking is one tracked event: what to call once its deliveries are durable, and since when.
type tracking struct {
	done  func(error)
	since time.Time
}

// Track registers ev, before it is published, when some webhook lists it, and reports whether
// it did. done then runs exactly once: with nil once the event's deliveries are durable, or with
// an error wrapping ErrNotRecorded. It runs on the service's goroutines (the matcher, the sweep,
// Close), never on Track's caller, and must not block: the matcher calls the dones of a whole
// batch in turn (engine/api's releases the waiting POST with a send on a buffered channel). When
// the publish fails, Untrack tells whether done may still be called. An error (wrapping
// ErrBacklogFull, backlog.go) refuses the event: it is not tracked and must not be published.
func (s *Service) Track(ev *source.Event, done func(error)) (bool, error) {
	set := s.hooks.Load()
	if set == nil || !set.candidates(ev) {
		return false, nil
	}
	n := len(set.match(ev))
	if n == 0 {
		return false, nil
	}
	if err := s.admit(n); err != nil {
		return false, err
	}
	s.tmu.Lock()
	if s.tracked == nil {
		s.tracked = map[*source.Event]tracking{}
	}
	s.tracked[ev] = tracking{done: done, since: time.Now()}
	s.ntracked.Store(int64(len(s.tracked)))
	s.tmu.Unlock()
	return true, nil
}

// Untrack forgets a tracked event whose publish failed or was a repeat. It reports false when done
// has run or is running already (the sweep timed it out): its caller must then leave the answer
// to done.
func (s *Service) Untrack(ev *source.Event) bool {
	_, ok := s.untrack(ev)
	return ok
}

func (s *Service) untrack(ev *source.Event) (tracking, bool) {
	s.tmu.Lock()
	t, ok := s.tracked[ev]
	if ok {
		delete(s.tracked, ev)
		s.ntracked.Store(int64(len(s.tracked)))
	}
	s.tmu.Unlock()
	return t, ok
}

// settle ends a tracked event's wait; untracked events cost an atomic load.
func (s *Service) settle(ev *source.Event, err error) {
	if s.ntracked.Load() == 0 {
		return
	}
	if t, ok := s.untrack(ev); ok {
		t.done(err)
	}
}

// expireTracked fails the events tracked for longer than trackTimeout.
func (s *Service) expireTracked(now time.Time) {
	if s.ntracked.Load() == 0 {
		return
	}
	var late []tracking
	s.tmu.Lock()
	for ev, t := range s.tracked {
		if now.Sub(t.since) >= trackTimeout {
			late = append(late, t)
			delete(s.tracked, ev)
		}
	}
	s.ntracked.Store(int64(len(s.tracked)))
	s.tmu.Unlock()
	for _, t := range late {
		t.done(ErrNotRecorded)
	}
}

// settleAll settles every event of a recorded batch (one lock for the batch; the answers are sent
// after it is released).
func (s *Service) settleAll(batch []*source.Event, err error) {
	if s.ntracked.Load() == 0 {
		return
	}
	if err != nil {
		err = errors.Join(ErrNotRecorded, err)
	}
	done := make([]func(error), 0, len(batch))
	s.tmu.Lock()
	for _, ev := range batch {
		if t, ok := s.tracked[ev]; ok {
			delete(s.tracked, ev)
			done = append(done, t.done)
		}
	}
	s.ntracked.Store(int64(len(s.tracked)))
	s.tmu.Unlock()
	for _, fn := range done {
		fn(err)
	}
}

// settleRemaining ends every wait (Close).
func (s *Service) settleRemaining() {
	s.tmu.Lock()
	t := s.tracked
	s.tracked = nil
	s.ntracked.Store(0)
	s.tmu.Unlock()
	for _, tr := range t {
		tr.done(ErrNotRecorded)
	}
}

func (s *Service) takeQueue() []*source.Event {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}
