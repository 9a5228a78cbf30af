package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Operator orders (engine/operator) travel like the other replicated records, but they are
// actions, not state: the store keeps none of them. PublishOrder replicates an order (Kafka mode:
// to the config topic, and every instance — this one included — applies it when ApplyRemote reads
// it back) or, standalone, hands it to the OnOrder hooks at once.

type orderHooks struct {
	mu    sync.Mutex
	hooks []func(value []byte)
}

func (h *orderHooks) fire(value []byte) {
	h.mu.Lock()
	hooks := h.hooks
	h.mu.Unlock()
	for _, fn := range hooks {
		fn(value)
	}
}

// bucketOrders keeps a standalone store's orders that must outlive a restart (revocations, until
// they end): id -> 8 bytes of unix-nanosecond end, then the order's JSON. With Replicate the
// config topic keeps them instead (it is read from the start at every start).
var bucketOrders = []byte("operator_orders")

// OnOrder registers fn to receive every order (its JSON), published here or read from another
// instance, after the kept orders that have not ended (a standalone store's revocations survive
// a restart). fn runs on the publishing or replicating goroutine and must not block.
func (s *Store) OnOrder(fn func(value []byte)) {
	now := time.Now()
	_ = s.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketOrders)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(_, v []byte) error {
			if len(v) > 8 && now.Before(time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))) {
				fn(append([]byte(nil), v[8:]...))
			}
			return nil
		})
	})
	s.orders.mu.Lock()
	s.orders.hooks = append(s.orders.hooks[:len(s.orders.hooks):len(s.orders.hooks)], fn)
	s.orders.mu.Unlock()
}

// PublishOrder replicates the order with id (Options.Replicate: it is applied when read back) or,
// in a standalone store, applies it now — and, when keepUntil is set, keeps it until then so that
// OnOrder hands it on after a restart (expired ones are dropped as new ones are kept).
func (s *Store) PublishOrder(id string, value []byte, keepUntil time.Time) error {
	if s.opts.Replicate == nil {
		if !keepUntil.IsZero() {
			if err := s.keepOrder(id, value, keepUntil); err != nil {
				return fmt.Errorf("store: keep order %s: %w", id, err)
			}
		}
		s.orders.fire(value)
		return nil
	}
	if err := s.opts.Replicate(Record{Kind: KindOrder, Key: id, Value: value}); err != nil {
		return fmt.Errorf("%w: order %s: %w", ErrReplication, id, err)
	}
	return nil
}

func (s *Store) keepOrder(id string, value []byte, until time.Time) error {
	now := time.Now()
	return s.update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketOrders)
		if err != nil {
			return err
		}
		var ended [][]byte
		_ = bk.ForEach(func(k, v []byte) error {
			if len(v) <= 8 || !now.Before(time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))) {
				ended = append(ended, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range ended {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), uint64(until.UnixNano()))
		return bk.Put([]byte(id), append(v, value...))
	})
}
