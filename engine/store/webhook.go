package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// WebhookBucket names one of the webhook outbox buckets (engine/webhook owns the value formats; the
// store keeps opaque bytes).
type WebhookBucket uint8

const (
	// WebhookPending holds deliveries not yet sent: delivery id -> record.
	WebhookPending WebhookBucket = iota
	// WebhookDead holds deliveries that ran out of attempts: delivery id -> record.
	WebhookDead
	// WebhookState holds per-endpoint state (secret, disabled, failure clock): endpoint key -> state.
	// It is local to this store; use PutWebhookState / WebhookState (webhookstate.go), which
	// replicate across instances, instead.
	WebhookState
	// WebhookAttempts holds the recent attempts of each endpoint; written with WebhookBatch.Attempts.
	WebhookAttempts
	// WebhookEvents holds the deliveries of a recorded event that have no record of their own
	// yet (one record for all the endpoints the event triggered): sequence -> record.
	WebhookEvents
	// WebhookJournal holds how far the webhook journal (engine/journal) is applied.
	WebhookJournal
)

var webhookBuckets = [...][]byte{
	WebhookPending:  []byte("webhook_pending"),
	WebhookDead:     []byte("webhook_dead"),
	WebhookState:    []byte("webhook_state"),
	WebhookAttempts: []byte("webhook_attempts"), // endpoint key, 0x00, 8-byte big-endian seq -> attempt
	WebhookEvents:   []byte("webhook_events"),
	WebhookJournal:  []byte("webhook_journal"),
}

// WebhookPut is one put (Value non-nil) or delete (Value nil) in a WebhookBatch.
type WebhookPut struct {
	Bucket WebhookBucket
	Key    string
	Value  []byte
}

// WebhookAttempt appends Value to the attempt log of Endpoint.
type WebhookAttempt struct {
	Endpoint string
	Value    []byte
}

// WebhookBatch is applied atomically by WriteWebhooks.
type WebhookBatch struct {
	Puts     []WebhookPut
	Attempts []WebhookAttempt
	// KeepAttempts bounds each endpoint's attempt log (oldest dropped). Zero means 100.
	KeepAttempts int
}

// WriteWebhooks applies b in one durable transaction. Concurrent calls are coalesced into one
// fsync (bbolt's Batch), so many deliveries recorded at once cost one disk flush; b may therefore be
// applied more than once if a coalesced neighbour fails, which puts and deletes tolerate.
func (s *Store) WriteWebhooks(b WebhookBatch) error { return s.writeWebhooks(b, s.db.Batch) }

// WriteWebhooksNow applies b in one durable transaction started at once, without bbolt's batch
// window (up to 10 ms): for a caller that is a group committer itself (the webhook matcher commits
// everything that arrived during its previous commit), so an ingest waiting on it is answered
// after one fsync, not after the window and the fsync.
func (s *Store) WriteWebhooksNow(b WebhookBatch) error { return s.writeWebhooks(b, s.db.Update) }

func (s *Store) writeWebhooks(b WebhookBatch, run func(func(*bolt.Tx) error) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	keep := b.KeepAttempts
	if keep <= 0 {
		keep = 100
	}
	err := run(func(tx *bolt.Tx) error {
		for _, p := range b.Puts {
			bk, err := tx.CreateBucketIfNotExists(webhookBuckets[p.Bucket])
			if err != nil {
				return fmt.Errorf("webhook bucket: %w", err)
			}
			if p.Value == nil {
				err = bk.Delete([]byte(p.Key))
			} else {
				err = bk.Put([]byte(p.Key), p.Value)
			}
			if err != nil {
				return fmt.Errorf("webhook %s %q: %w", webhookBuckets[p.Bucket], p.Key, err)
			}
		}
		if len(b.Attempts) == 0 {
			return nil
		}
		bk, err := tx.CreateBucketIfNotExists(webhookBuckets[WebhookAttempts])
		if err != nil {
			return fmt.Errorf("webhook attempts bucket: %w", err)
		}
		trim := map[string]bool{}
		for _, a := range b.Attempts {
			seq, err := bk.NextSequence()
			if err != nil {
				return err
			}
			if err := bk.Put(binary.BigEndian.AppendUint64(attemptPrefix(a.Endpoint), seq), a.Value); err != nil {
				return fmt.Errorf("webhook attempt: %w", err)
			}
			trim[a.Endpoint] = true
		}
		for ep := range trim {
			if err := trimAttempts(bk, attemptPrefix(ep), keep); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && s.closed.Load() {
		return ErrClosed
	}
	return err
}

func attemptPrefix(endpoint string) []byte { return append([]byte(endpoint), 0) }

// trimAttempts deletes the oldest entries under prefix beyond keep.
func trimAttempts(bk *bolt.Bucket, prefix []byte, keep int) error {
	c := bk.Cursor()
	n := 0
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	var old [][]byte
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n > keep; k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
		n--
	}
	for _, k := range old {
		if err := bk.Delete(k); err != nil {
			return fmt.Errorf("trim webhook attempts: %w", err)
		}
	}
	return nil
}

// EachWebhook calls fn for every entry of bucket in key order (the slices are only valid during the
// call); an error from fn stops the walk and is returned.
func (s *Store) EachWebhook(bucket WebhookBucket, fn func(key string, value []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(webhookBuckets[bucket])
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// GetWebhook returns a copy of one entry, nil when absent.
func (s *Store) GetWebhook(bucket WebhookBucket, key string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		if bk := tx.Bucket(webhookBuckets[bucket]); bk != nil {
			out = bytes.Clone(bk.Get([]byte(key)))
		}
		return nil
	})
	return out, err
}

// WebhookAttemptLog returns up to limit of endpoint's most recent attempts, newest first.
func (s *Store) WebhookAttemptLog(endpoint string, limit int) ([][]byte, error) {
	var out [][]byte
	prefix := attemptPrefix(endpoint)
	err := s.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(webhookBuckets[WebhookAttempts])
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		// Seek past the prefix's last key (prefix + 0xff…), then walk back.
		k, _ := c.Seek(append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
			out = append(out, bytes.Clone(bk.Get(k)))
		}
		return nil
	})
	return out, err
}
