package client

import (
	"context"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// PartReader consumes one partition from an absolute offset, forever: fetch errors are counted,
// logged (rate-limited) and retried with a capped backoff, after which the kafka-go Reader is
// re-seeked to the next offset tracked here, so the records handed to handle are exactly the
// partition's records from the start offset on, in order, each once.
type PartReader struct {
	Config    *Config
	Conns     *Conns
	Topic     string
	Partition int
	// Start is the first offset handed to Handle.
	Start int64
	Stats *Stats
	Log   *RateLog
	// Health, when set, takes the fetch errors (the start of an outage logged at once, its
	// continuation rate-limited) and the fetched records (its end) instead of Log.
	Health *Outage
	Handle func(ctx context.Context, m *kafkago.Message) bool // false: stop (ctx ended)

	next int64
	ps   *PartStats
}

// Run reads until ctx ends (or Handle returns false).
func (r *PartReader) Run(ctx context.Context) {
	r.next, r.ps = r.Start, r.Stats.Part(r.Partition)
	rd := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:          r.Config.Brokers,
		Topic:            r.Topic,
		Partition:        r.Partition,
		Dialer:           r.Conns.Dialer,
		MinBytes:         1,
		MaxBytes:         r.Config.MaxRecordBytes,
		MaxWait:          r.Config.MaxWait,
		ReadBatchTimeout: 2 * r.Config.MaxWait,
		ReadBackoffMin:   100 * time.Millisecond,
		ReadBackoffMax:   r.Config.BackoffMax,
		MaxAttempts:      1,
		QueueCapacity:    64,
	})
	defer func() { _ = rd.Close() }()
	r.ps.Next.Store(r.next)
	if err := rd.SetOffset(r.next); err != nil {
		r.Config.Logger.Error("kafka: set offset", "topic", r.Topic, "partition", r.Partition, "error", err)
		return
	}
	errs := 0
	for {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			errs++
			r.Stats.FetchErrors.Add(1)
			if r.Health != nil {
				r.Health.Fail("fetch", fmt.Errorf("partition %d at offset %d: %w", r.Partition, r.next, err))
			} else {
				r.Log.Warn("fetch", "kafka: fetch failed, retrying", "topic", r.Topic, "partition", r.Partition,
					"offset", r.next, "error", err)
			}
			if !SleepCtx(ctx, Backoff(errs, r.Config.BackoffMax)) {
				return
			}
			// Re-seek: whatever the reader had buffered or skipped, continue from our own offset.
			if err := rd.SetOffset(r.next); err != nil {
				return
			}
			r.Stats.Reconnects.Add(1)
			continue
		}
		errs = 0
		if r.Health != nil {
			r.Health.OK()
		}
		if m.Offset < r.next {
			continue // already handed over (a re-seek raced with a buffered batch)
		}
		if m.Offset > r.next {
			r.Stats.Gaps.Add(uint64(m.Offset - r.next))
		}
		r.next = m.Offset + 1
		r.ps.Next.Store(r.next)
		r.ps.HighWater.Store(max(m.HighWaterMark, r.next))
		if !r.Handle(ctx, &m) {
			return
		}
	}
}
