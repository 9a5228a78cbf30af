package adspevent

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// rejectLogInterval: after the first line, one line per reason per interval.
const rejectLogInterval = time.Minute

// Rejections counts rejected messages by reason and logs them: the first of each reason at once
// (WARN, with the routing key), then at most one line per reason a minute with the number since.
// Safe for concurrent use.
type Rejections struct {
	queue string
	log   *slog.Logger
	count map[string]*atomic.Uint64 // fixed keys: Reasons

	mu      sync.Mutex
	lastLog map[string]time.Time
	since   map[string]int
}

// NewRejections returns the counters of one queue's rejections.
func NewRejections(queue string, log *slog.Logger) *Rejections {
	if log == nil {
		log = slog.Default()
	}
	r := &Rejections{queue: queue, log: log, count: map[string]*atomic.Uint64{}, lastLog: map[string]time.Time{}, since: map[string]int{}}
	for _, reason := range Reasons {
		r.count[reason] = new(atomic.Uint64)
	}
	return r
}

// Count returns the messages rejected for reason.
func (r *Rejections) Count(reason string) uint64 {
	if c := r.count[reason]; c != nil {
		return c.Load()
	}
	return 0
}

// Add counts a rejection of the message with routingKey and logs it (rate-limited per reason).
func (r *Rejections) Add(rej *Rejection, routingKey string) {
	r.count[rej.Reason].Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.since[rej.Reason]++
	last, seen := r.lastLog[rej.Reason]
	if seen && time.Since(last) < rejectLogInterval {
		return
	}
	r.lastLog[rej.Reason] = time.Now()
	n := r.since[rej.Reason]
	r.since[rej.Reason] = 0
	r.log.Warn("amqp: message rejected (dead-lettered)", "queue", r.queue, "reason", rej.Reason, "routing_key", routingKey, "detail", rej.Detail, "rejected_since_last_line", n)
}
