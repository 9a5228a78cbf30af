package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Replicated webhook endpoint state (secret, rotation, disabled flag, failure clock; the bytes are
// engine/webhook's and opaque here). Every instance of a Kafka-mode deployment signs with the same
// secret, so this state travels through the config topic like the documents do:
//
//   - PutWebhookState / DeleteWebhookState replicate first (Options.Replicate) and commit locally
//     only when the topic acknowledged; the local copy stays UNCONFIRMED until ApplyRemote reads a
//     record back from the topic that settles it.
//   - ApplyRemote decides with a rule that depends only on topic order, so every instance ends with
//     the same state: a higher version replaces the lower; for an equal version the FIRST record in
//     topic order wins and later ones with other bytes are refused (*WebhookConflictError, wrapping
//     ErrConflict); a record of a lower version than one already read is refused the same way. The
//     local copy follows the topic's winner whenever its version is at least the local one, so a
//     local unconfirmed write that lost the race is replaced.
//
// Deletion is a record with "deleted":true and the next version, not a Kafka tombstone: the version
// survives, so a webhook re-created later starts above it and a stale record of the old endpoint can
// never resurrect its secret; the marker is a few bytes per removed webhook, kept forever.
//
// Compaction keeps only the LAST record of each key, while the winner of a tie is the FIRST. So a
// refused record is a hazard for an instance that reads the topic after compaction: it would see the
// loser only. A refusal therefore carries WebhookConflictError.Repair, the winning record, which the
// replicator republishes (engine/kafka/configsync.ConfigSync does): identical to the winner, it is a
// no-op everywhere and becomes the key's last record.

// bucketWebhookStates holds the replicated endpoint states: endpoint key -> webhookRow JSON. (The
// older local-only WebhookState bucket of webhook.go is a different bucket.)
var bucketWebhookStates = []byte("webhook_endpoint_state")

// webhookRecord is the Value of a KindWebhook record.
type webhookRecord struct {
	Version int64           `json:"version"`
	State   json.RawMessage `json:"state,omitempty"`
	Deleted bool            `json:"deleted,omitempty"`
}

func (r webhookRecord) same(o webhookRecord) bool {
	return r.Version == o.Version && r.Deleted == o.Deleted && bytes.Equal(r.State, o.State)
}

// webhookRow is what bucketWebhookStates holds: the record and whether the topic confirmed it.
type webhookRow struct {
	webhookRecord
	Confirmed bool `json:"confirmed,omitempty"`
}

// webhookTopicView is, per endpoint key, the record that won in topic order as read by this process
// (rebuilt on every start, since ConfigSync reads the topic from the beginning).
type webhookTopicView struct {
	mu   sync.Mutex // held across a whole applyWebhook
	seen map[string]webhookRecord
}

// WebhookConflictError reports a webhook state write or record that lost: a PutWebhookState whose
// version is not above the stored one (Repair nil), or a remote record refused by ApplyRemote because
// another record holds its version or a higher one (Repair set). It wraps ErrConflict. The message
// names the key and versions only, never the state.
type WebhookConflictError struct {
	Key     string
	Version int64 // of the refused write or record
	Current int64 // of the state that holds
	// Repair, set by ApplyRemote, is the winning record; republishing it makes it the key's last
	// record in the compacted topic (see the package documentation). It is a no-op for every store.
	Repair *Record
}

func (e *WebhookConflictError) Error() string {
	return fmt.Sprintf("store: webhook state %q: version %d refused, version %d holds", e.Key, e.Version, e.Current)
}

// Unwrap lets errors.Is(err, ErrConflict) match.
func (e *WebhookConflictError) Unwrap() error { return ErrConflict }

// PutWebhookState stores the state of an endpoint (any JSON value, stored compacted) at version,
// which must be above the stored version (else a *WebhookConflictError; re-read and retry). With
// Options.Replicate the record is replicated first; if that fails the call returns an error wrapping
// ErrReplication and nothing is stored. The stored state is confirmed at once without Replicate,
// otherwise when ApplyRemote reads it (or a competitor) back. Fires WebhookStateChanges.
func (s *Store) PutWebhookState(key string, version int64, state []byte) error {
	if key == "" {
		return invalid("webhook state needs an endpoint key")
	}
	if version < 1 {
		return invalid(fmt.Sprintf("webhook state version %d is below 1", version))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, state); err != nil || buf.String() == "null" {
		return invalid("webhook state is not a JSON value")
	}
	return s.writeWebhookState(key, func(cur *webhookRow) (*webhookRecord, error) {
		if cur != nil && version <= cur.Version {
			return nil, &WebhookConflictError{Key: key, Version: version, Current: cur.Version}
		}
		return &webhookRecord{Version: version, State: buf.Bytes()}, nil
	})
}

// DeleteWebhookState marks an endpoint's state deleted at the next version (replicated like
// PutWebhookState). Absent or already deleted state is a no-op. WebhookState then reports no state
// and the deletion's version; a re-created endpoint is written above it.
func (s *Store) DeleteWebhookState(key string) error {
	return s.writeWebhookState(key, func(cur *webhookRow) (*webhookRecord, error) {
		if cur == nil || cur.Deleted {
			return nil, nil
		}
		return &webhookRecord{Version: cur.Version + 1, Deleted: true}, nil
	})
}

// writeWebhookState runs next on the stored row and, when it returns a record, replicates and
// stores it. The record is replicated between two transactions, never inside one: a send to the
// config topic can take up to the publish timeout, and bbolt has one writer. If the row changed in
// between (a record read back from the topic, or a concurrent write of this process), the write
// is judged as ApplyRemote judges the topic: a row at the record's version or above wins — the
// record itself, read back already, is a success; anything else a *WebhookConflictError (the
// replicated record then loses on every instance by the same rule).
func (s *Store) writeWebhookState(key string, next func(cur *webhookRow) (*webhookRecord, error)) error {
	var rec *webhookRecord
	err := s.view(func(tx *bolt.Tx) error {
		var cur *webhookRow
		if bk := tx.Bucket(bucketWebhookStates); bk != nil {
			var err error
			if cur, err = getWebhookRow(bk, key); err != nil {
				return err
			}
		}
		var err error
		rec, err = next(cur)
		return err
	})
	if err != nil || rec == nil {
		return wrapWebhookWrite(key, err)
	}
	if s.opts.Replicate != nil {
		v, err := json.Marshal(rec)
		if err != nil {
			return wrapWebhookWrite(key, fmt.Errorf("encode webhook state: %w", err))
		}
		if err := s.opts.Replicate(Record{Kind: KindWebhook, Key: key, Value: v}); err != nil {
			return wrapWebhookWrite(key, fmt.Errorf("%w: %w", ErrReplication, err))
		}
	}
	wrote := false
	err = s.update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketWebhookStates)
		if err != nil {
			return err
		}
		cur, err := getWebhookRow(bk, key)
		if err != nil {
			return err
		}
		if cur != nil && cur.Version >= rec.Version {
			if cur.same(*rec) {
				return nil // read back from the topic before this commit: it won
			}
			return &WebhookConflictError{Key: key, Version: rec.Version, Current: cur.Version}
		}
		wrote = true
		return putWebhookRow(bk, key, webhookRow{webhookRecord: *rec, Confirmed: s.opts.Replicate == nil})
	})
	if err != nil {
		return wrapWebhookWrite(key, err)
	}
	if wrote {
		s.notifyWebhookState()
	}
	return nil
}

func wrapWebhookWrite(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: write webhook state %q: %w", key, err)
}

// WebhookState returns an endpoint's state (nil when absent or deleted), its version (0 when never
// stored) and whether it is confirmed: read back from the topic, or written without Replicate. An
// absent key is confirmed only without Replicate. An instance signs only with confirmed state; it
// waits on WebhookStateChanges, which fires when the confirmation arrives.
func (s *Store) WebhookState(key string) (state []byte, version int64, confirmed bool, err error) {
	var row *webhookRow
	err = s.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketWebhookStates)
		if bk == nil {
			return nil
		}
		row, err = getWebhookRow(bk, key)
		return err
	})
	if err != nil {
		return nil, 0, false, fmt.Errorf("store: read webhook state %q: %w", key, err)
	}
	if row == nil {
		return nil, 0, s.opts.Replicate == nil, nil
	}
	if row.Deleted {
		return nil, row.Version, row.Confirmed, nil
	}
	return bytes.Clone(row.State), row.Version, row.Confirmed, nil
}

// applyWebhook is ApplyRemote for KindWebhook; see the comment at the top of this file.
func (s *Store) applyWebhook(key string, value []byte) error {
	rec, err := decodeWebhookRecord(key, value)
	if err != nil {
		return err
	}
	s.wh.mu.Lock()
	defer s.wh.mu.Unlock()
	if s.wh.seen == nil {
		s.wh.seen = map[string]webhookRecord{}
	}
	if won, ok := s.wh.seen[key]; ok && (rec.Version < won.Version || (rec.Version == won.Version && !rec.same(won))) {
		repair, _ := json.Marshal(won)
		return &WebhookConflictError{Key: key, Version: rec.Version, Current: won.Version,
			Repair: &Record{Kind: KindWebhook, Key: key, Value: repair}}
	}
	changed := false
	err = s.update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketWebhookStates)
		if err != nil {
			return err
		}
		cur, err := getWebhookRow(bk, key)
		if err != nil {
			return err
		}
		// A lower version than the local one leaves it: it is a local write not read back yet (its
		// record follows in the topic), or state of an earlier run whose later records follow.
		if cur != nil && (rec.Version < cur.Version || (cur.Confirmed && rec.same(cur.webhookRecord))) {
			return nil
		}
		changed = true
		return putWebhookRow(bk, key, webhookRow{webhookRecord: rec, Confirmed: true})
	})
	if err != nil {
		return fmt.Errorf("store: apply webhook state %q: %w", key, err)
	}
	s.wh.seen[key] = rec
	if changed {
		s.notifyWebhookState()
	}
	return nil
}

func decodeWebhookRecord(key string, value []byte) (webhookRecord, error) {
	var rec webhookRecord
	if key == "" {
		return rec, invalid("webhook record has no endpoint key")
	}
	if err := json.Unmarshal(value, &rec); err != nil {
		return rec, invalid("webhook record is not a JSON object")
	}
	if rec.Version < 1 {
		return rec, invalid(fmt.Sprintf("webhook record has a bad version %d", rec.Version))
	}
	if rec.Deleted {
		if len(rec.State) != 0 {
			return rec, invalid("deleted webhook record carries a state")
		}
		return rec, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, rec.State); err != nil || buf.Len() == 0 || buf.String() == "null" {
		return rec, invalid("webhook record has no state")
	}
	rec.State = buf.Bytes()
	return rec, nil
}

func getWebhookRow(bk *bolt.Bucket, key string) (*webhookRow, error) {
	v := bk.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	var row webhookRow
	if err := json.Unmarshal(v, &row); err != nil {
		return nil, fmt.Errorf("decode webhook state %q: %w", key, err)
	}
	return &row, nil
}

func putWebhookRow(bk *bolt.Bucket, key string, row webhookRow) error {
	v, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("encode webhook state %q: %w", key, err)
	}
	return bk.Put([]byte(key), v)
}

// webhookRecords appends every stored endpoint state (confirmed or not, deletions included) as
// records, in key order.
func webhookRecords(tx *bolt.Tx, out []Record) ([]Record, error) {
	bk := tx.Bucket(bucketWebhookStates)
	if bk == nil {
		return out, nil
	}
	err := bk.ForEach(func(k, v []byte) error {
		var row webhookRow
		if err := json.Unmarshal(v, &row); err != nil {
			return fmt.Errorf("decode webhook state %q: %w", k, err)
		}
		rv, err := json.Marshal(row.webhookRecord)
		if err != nil {
			return err
		}
		out = append(out, Record{Kind: KindWebhook, Key: string(k), Value: rv})
		return nil
	})
	return out, err
}
