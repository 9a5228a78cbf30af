package client

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the consumer's counters and gauges. Every field is safe to read concurrently; the lead
// registers them as Prometheus counter/gauge funcs (see docs/KAFKA.md for the metric names).
type Stats struct {
	// Records counts records fetched from the topic (valid and malformed).
	Records atomic.Uint64
	// Delivered counts events handed to the dispatch func.
	Delivered atomic.Uint64
	// DecodeErrors counts malformed records (skipped).
	DecodeErrors atomic.Uint64
	// FetchErrors counts errors returned by fetches and metadata requests.
	FetchErrors atomic.Uint64
	// Reconnects counts re-seeks of a partition reader after a fetch error.
	Reconnects atomic.Uint64
	// Gaps counts offsets the broker skipped (retention, compaction, transaction markers).
	Gaps atomic.Uint64
	// Duplicates counts records dropped as repeats of an earlier record's idempotency key.
	Duplicates atomic.Uint64
	// LastEvent is the unix time (ns) of the last delivered event, 0 before the first.
	LastEvent atomic.Int64

	started time.Time
	mu      sync.Mutex
	parts   map[int]*PartStats
}

// PartStats are one partition's offsets, updated by its reader.
type PartStats struct {
	Next      atomic.Int64 // next offset to fetch
	HighWater atomic.Int64 // last known high-water mark
}

// PartitionStats is a snapshot of one partition.
type PartitionStats struct {
	Partition int
	// Next is the next offset to fetch; HighWater the last known high-water mark.
	Next, HighWater int64
	// Lag is HighWater − Next (never negative).
	Lag int64
}

// NewStats returns zeroed Stats, started now.
func NewStats() *Stats { return &Stats{started: time.Now(), parts: map[int]*PartStats{}} }

// Part returns partition p's figures, creating them.
func (s *Stats) Part(p int) *PartStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ok := s.parts[p]
	if !ok {
		ps = &PartStats{}
		s.parts[p] = ps
	}
	return ps
}

// Partitions returns a snapshot per partition, ascending.
func (s *Stats) Partitions() []PartitionStats {
	s.mu.Lock()
	out := make([]PartitionStats, 0, len(s.parts))
	for p, ps := range s.parts {
		n, h := ps.Next.Load(), ps.HighWater.Load()
		out = append(out, PartitionStats{Partition: p, Next: n, HighWater: h, Lag: max(h-n, 0)})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b PartitionStats) int { return a.Partition - b.Partition })
	return out
}

// Lag is the sum of the per-partition lags.
func (s *Stats) Lag() int64 {
	var sum int64
	for _, p := range s.Partitions() {
		sum += p.Lag
	}
	return sum
}

// SecondsSinceLastEvent is the age of the last delivered event (since the start before the first).
func (s *Stats) SecondsSinceLastEvent() float64 {
	last := s.started
	if ns := s.LastEvent.Load(); ns != 0 {
		last = time.Unix(0, ns)
	}
	return time.Since(last).Seconds()
}

// RateLog logs at most one line per cause per interval and reports how many were suppressed.
type RateLog struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
	dropped  map[string]int
}

// NewRateLog logs to l at most once per cause per interval.
func NewRateLog(l *slog.Logger, interval time.Duration) *RateLog {
	return &RateLog{log: l, interval: interval, last: map[string]time.Time{}, dropped: map[string]int{}}
}

// Warn logs msg at WARN unless cause was logged less than an interval ago.
func (r *RateLog) Warn(cause, msg string, args ...any) {
	now := time.Now()
	r.mu.Lock()
	if now.Sub(r.last[cause]) < r.interval {
		r.dropped[cause]++
		r.mu.Unlock()
		return
	}
	r.last[cause] = now
	n := r.dropped[cause]
	delete(r.dropped, cause)
	r.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Warn(msg, args...)
}

// Backoff returns the delay before retry n (1-based): 100 ms doubling, capped.
func Backoff(n int, maxDelay time.Duration) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// SleepCtx sleeps d or until ctx ends; it reports whether ctx is still alive.
func SleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Truncate shortens s to at most n bytes (kept valid UTF-8) for a log line.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// ResetPartitions forgets every partition's figures (a consumer group member's new generation
// owns other partitions).
func (s *Stats) ResetPartitions() {
	s.mu.Lock()
	clear(s.parts)
	s.mu.Unlock()
}
