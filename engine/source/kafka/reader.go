package kafka

import (
	"context"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// partReader consumes one partition from an absolute offset, forever: fetch errors are counted,
// logged (rate-limited) and retried with a capped backoff, after which the kafka-go Reader is
// re-seeked to the next offset tracked here, so the records handed to handle are exactly the
// partition's records from the start offset on, in order, each once.
type partReader struct {
	cfg   *Config
	cn    *conns
	topic string
	part  int
	next  int64
	stats *Stats
	ps    *partStats
	rl    *rateLog
	// health, when set, takes the fetch errors (the start of an outage logged at once, its
	// continuation rate-limited) and the fetched records (its end) instead of rl.
	health *brokerOutage
	handle func(ctx context.Context, m *kafkago.Message) bool // false: stop (ctx ended)
}

func (r *partReader) run(ctx context.Context) {
	rd := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:          r.cfg.Brokers,
		Topic:            r.topic,
		Partition:        r.part,
		Dialer:           r.cn.dialer,
		MinBytes:         1,
		MaxBytes:         r.cfg.MaxRecordBytes,
		MaxWait:          r.cfg.MaxWait,
		ReadBatchTimeout: 2 * r.cfg.MaxWait,
		ReadBackoffMin:   100 * time.Millisecond,
		ReadBackoffMax:   r.cfg.BackoffMax,
		MaxAttempts:      1,
		QueueCapacity:    64,
	})
	defer func() { _ = rd.Close() }()
	r.ps.next.Store(r.next)
	if err := rd.SetOffset(r.next); err != nil {
		r.cfg.Logger.Error("kafka: set offset", "topic", r.topic, "partition", r.part, "error", err)
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
			r.stats.FetchErrors.Add(1)
			if r.health != nil {
				r.health.fail("fetch", fmt.Errorf("partition %d at offset %d: %w", r.part, r.next, err))
			} else {
				r.rl.warn("fetch", "kafka: fetch failed, retrying", "topic", r.topic, "partition", r.part,
					"offset", r.next, "error", err)
			}
			if !sleepCtx(ctx, backoff(errs, r.cfg.BackoffMax)) {
				return
			}
			// Re-seek: whatever the reader had buffered or skipped, continue from our own offset.
			if err := rd.SetOffset(r.next); err != nil {
				return
			}
			r.stats.Reconnects.Add(1)
			continue
		}
		errs = 0
		if r.health != nil {
			r.health.ok()
		}
		if m.Offset < r.next {
			continue // already handed over (a re-seek raced with a buffered batch)
		}
		if m.Offset > r.next {
			r.stats.Gaps.Add(uint64(m.Offset - r.next))
		}
		r.next = m.Offset + 1
		r.ps.next.Store(r.next)
		r.ps.hwm.Store(max(m.HighWaterMark, r.next))
		if !r.handle(ctx, &m) {
			return
		}
	}
}
