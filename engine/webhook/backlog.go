package webhook

import (
	"errors"
	"fmt"
)

// The backlog bound. Every pending delivery (waiting, in flight, or due for a retry) is held in
// memory with its body: ~2 KB of heap for a 100 B event (measured: 400,000 pending, 810 MB of
// heap, 940 MB of RSS). A receiver that is down while events keep coming, with retries spread
// over a day (DefaultSchedule), would grow the process until the kernel killed it — every socket
// with it — and the restart would load the same records again. Beyond Settings.MaxPending, events
// that some webhook lists are refused rather than dropped: the ingest answers 503 with
// Retry-After before publishing (Track), a Kafka or RabbitMQ batch is retried after a backoff and
// its offsets or acknowledgements wait (Record). With --webhook-early-ack the event is already
// answered: its deliveries are counted as refused and logged. What is recorded already is never
// refused: a restart loads all of it and a replay adds to it.

// DefaultMaxPending is Settings.MaxPending's default (--webhook-max-pending): ~2 GB of heap with
// 100 B events.
const DefaultMaxPending = 1_000_000

// ErrBacklogFull is the refusal of an event whose deliveries would take the pending deliveries
// past Settings.MaxPending; retry once deliveries have ended.
var ErrBacklogFull = errors.New("webhook backlog is full")

// admit reports whether n more deliveries fit in the backlog: nil, or an error wrapping
// ErrBacklogFull. An empty backlog takes any n, so an event with more webhooks than the bound
// is still sent. It reads a counter, not the pending map: the ingest calls it without Service.mu.
func (s *Service) admit(n int) error {
	bound, pending := s.cfg.MaxPending, int(s.npending.Load())
	if bound < 0 || pending == 0 || pending+n <= bound {
		if s.full.Load() && s.full.CompareAndSwap(true, false) {
			s.log.Info("webhook: the backlog has room again; events are accepted", "pending", pending, "max", bound)
		}
		return nil
	}
	s.stats.refused.Add(1)
	if !s.full.Swap(true) {
		s.log.Error("webhook: backlog full; events that webhooks list are refused until deliveries end (--webhook-max-pending)",
			"pending", pending, "max", bound)
	}
	return fmt.Errorf("%w: %d deliveries pending (--webhook-max-pending %d)", ErrBacklogFull, pending, bound)
}

// addPendingLocked makes d pending and due (and places it in its ordered endpoint's order).
func (s *Service) addPendingLocked(d *delivery) bool {
	if _, dup := s.pending[d.ID]; dup {
		return false
	}
	s.pending[d.ID] = d
	s.npending.Store(int64(len(s.pending)))
	s.due.push(d)
	if ep := s.eps[d.Endpoint]; ep != nil && ep.ordered {
		s.orderLocked(ep, d)
	}
	return true
}

// removePendingLocked forgets d's pending entry (it succeeded, died or was cancelled).
func (s *Service) removePendingLocked(d *delivery) {
	delete(s.pending, d.ID)
	s.npending.Store(int64(len(s.pending)))
}
