package webhook

import (
	"errors"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// Without Kafka the ingest (POST /event/v1/events) answers only once the event's webhook
// deliveries are durable: it calls Track before publishing and waits on the result, which the
// matcher settles after the store transaction holding the deliveries (one group commit for all
// the events matched meanwhile). So a kill -9 at any moment loses no acknowledged delivery.
// Events no webhook lists are not tracked and cost nothing.

// ErrNotRecorded is returned by a Track wait whose event's deliveries were not recorded (the
// match queue was full, the store failed, or the service stopped).
var ErrNotRecorded = errors.New("webhook: deliveries not recorded")

// trackTimeout bounds a Track wait (the store is stuck or the service is closing).
const trackTimeout = 10 * time.Second

// Track registers ev, before it is published, when some webhook lists it; the returned function
// waits until its deliveries are durable (nil) or could not be recorded. It returns nil when no
// webhook lists ev. Untrack must be called instead of waiting when the publish fails.
func (s *Service) Track(ev *source.Event) func() error {
	set := s.hooks.Load()
	if set == nil || !set.candidates(ev) || len(set.match(ev)) == 0 {
		return nil
	}
	ch := make(chan error, 1)
	s.tmu.Lock()
	if s.tracked == nil {
		s.tracked = map[*source.Event]chan error{}
	}
	s.tracked[ev] = ch
	s.ntracked.Store(int64(len(s.tracked)))
	s.tmu.Unlock()
	return func() error {
		t := time.NewTimer(trackTimeout)
		defer t.Stop()
		select {
		case err := <-ch:
			return err
		case <-t.C:
			s.Untrack(ev)
			return ErrNotRecorded
		}
	}
}

// Untrack forgets a tracked event whose publish failed.
func (s *Service) Untrack(ev *source.Event) { s.settle(ev, ErrNotRecorded) }

// settle ends a tracked event's wait; untracked events cost an atomic load.
func (s *Service) settle(ev *source.Event, err error) {
	if s.ntracked.Load() == 0 {
		return
	}
	s.tmu.Lock()
	ch, ok := s.tracked[ev]
	if ok {
		delete(s.tracked, ev)
		s.ntracked.Store(int64(len(s.tracked)))
	}
	s.tmu.Unlock()
	if ok {
		ch <- err
	}
}

// settleAll settles every event of a recorded batch.
func (s *Service) settleAll(batch []*source.Event, err error) {
	if s.ntracked.Load() == 0 {
		return
	}
	if err != nil {
		err = errors.Join(ErrNotRecorded, err)
	}
	for _, ev := range batch {
		s.settle(ev, err)
	}
}

// settleRemaining ends every wait (Close).
func (s *Service) settleRemaining() {
	s.tmu.Lock()
	t := s.tracked
	s.tracked = nil
	s.ntracked.Store(0)
	s.tmu.Unlock()
	for _, ch := range t {
		ch <- ErrNotRecorded
	}
}

func (s *Service) takeQueue() []*source.Event {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}
