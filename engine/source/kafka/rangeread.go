package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/segmentio/kafka-go/protocol"

	"github.com/pushgate/pushgate/engine/dedupe"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/source"
)

// ReadRange re-reads the events between two positions: for every partition p of to, the records
// with from[p] <= offset < to[p] (a partition missing from from starts at 0), partition after
// partition (ascending), each partition in offset order. fn runs on the caller's goroutine with
// ev.ID set to the position vector after ev (starting from from), so a client can resume from any
// delivered id. Malformed records are skipped and counted, as in live consumption.
//
// It is all-or-nothing about retention: before delivering anything it checks every partition and
// returns an error wrapping ErrOutOfRetention if a needed offset is gone (or if to is beyond the
// end of a partition). At most MaxRangeReaders calls run at once (the others wait, bounded by ctx
// and RangeTimeout), so a reconnect storm cannot start thousands of readers.
func (s *Source) ReadRange(ctx context.Context, from, to Position, fn func(*source.Event)) error {
	if s.closed.Load() {
		return client.ErrClosed
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RangeTimeout)
	defer cancel()
	var parts []int
	for p, hi := range to {
		if hi > from[p] {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	slices.Sort(parts)
	select {
	case s.rangeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("kafka: read range: waiting for a reader slot: %w", ctx.Err())
	}
	defer func() { <-s.rangeSem }()

	offs, err := s.cn.Offsets(ctx, s.cfg.Topic)
	if err != nil {
		return fmt.Errorf("kafka: read range: %w", err)
	}
	for _, p := range parts {
		b, ok := offs[p]
		switch {
		case !ok:
			return fmt.Errorf("kafka: read range: partition %d does not exist", p)
		case from[p] < b.First:
			return fmt.Errorf("%w: partition %d starts at offset %d, the range at %d", ErrOutOfRetention, p, b.First, from[p])
		case to[p] > b.Last:
			return fmt.Errorf("kafka: read range: partition %d ends at offset %d, the range at %d", p, b.Last, to[p])
		}
	}

	vec := make([]entry, 0, len(from)+len(parts))
	for p, off := range from {
		vec = append(vec, entry{p, off})
	}
	for _, p := range parts {
		if _, ok := from[p]; !ok {
			vec = append(vec, entry{p, 0})
		}
	}
	slices.SortFunc(vec, func(a, b entry) int { return a.part - b.part })
	var idBuf []byte
	for _, p := range parts {
		i, _ := findEntry(vec, p)
		err := s.readPartition(ctx, p, from[p], to[p], func(off int64, ev *source.Event) {
			vec[i].next = off + 1
			idBuf = appendPosition(idBuf[:0], vec, p)
			ev.ID = string(idBuf)
			fn(ev)
		})
		if err != nil {
			return err
		}
		vec[i].next = to[p]
	}
	return nil
}

// readPartition fetches [lo, hi) of partition p and hands every valid event to deliver.
func (s *Source) readPartition(ctx context.Context, p int, lo, hi int64, deliver func(int64, *source.Event)) error {
	off := lo
	var inRange *dedupe.Window // idempotency keys met in this range, made at the first one
	for empty := 0; off < hi; {
		resp, err := s.cn.Client.Fetch(ctx, &client.FetchRequest{
			Topic: s.cfg.Topic, Partition: p, Offset: off,
			MinBytes: 1, MaxBytes: int64(s.cfg.MaxRecordBytes), MaxWait: s.cfg.MaxWait,
		})
		if err != nil {
			return fmt.Errorf("kafka: read range: fetch %d/%d: %w", p, off, err)
		}
		if resp.Error != nil {
			if errors.Is(resp.Error, client.OffsetOutOfRange) {
				return fmt.Errorf("%w: partition %d offset %d: %w", ErrOutOfRetention, p, off, resp.Error)
			}
			return fmt.Errorf("kafka: read range: fetch %d/%d: %w", p, off, resp.Error)
		}
		progressed := false
		for {
			rec, err := resp.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("kafka: read range: records of %d at %d: %w", p, off, err)
			}
			if rec.Offset < off {
				continue
			}
			if rec.Offset >= hi {
				return nil
			}
			off, progressed = rec.Offset+1, true
			value, err := protocol.ReadAll(rec.Value)
			if err != nil {
				return fmt.Errorf("kafka: read range: record %d/%d: %w", p, rec.Offset, err)
			}
			ev := DecodeOrSkip(&s.cfg, s.stats, s.rl, p, rec.Offset, value, rec.Headers)
			if ev == nil {
				continue
			}
			if k := idempotencyKey(rec.Headers); k != "" {
				// A repeat of a record the live reader met earlier, or of one earlier in this range.
				if first, ok := s.seen.Lookup(source.IdempotencyScope(ev.TenantID, k)); ok && first != position(p, rec.Offset) {
					continue
				}
				if inRange == nil {
					inRange = dedupe.New(0, 0)
				}
				if RepeatRecord(inRange, ev, rec.Headers, p, rec.Offset, rec.Time) {
					continue
				}
			}
			deliver(rec.Offset, ev)
		}
		if !progressed {
			// Only control records or a compacted hole before hi: stop once the high-water mark says
			// nothing more can come, or after a few empty answers.
			if empty++; off >= resp.HighWatermark || empty >= 3 {
				return nil
			}
		} else {
			empty = 0
		}
	}
	return nil
}
