package store

import (
	"fmt"
	"sync"
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

// OnOrder registers fn to receive every order (its JSON), published here or read from another
// instance. fn runs on the publishing or replicating goroutine and must not block.
func (s *Store) OnOrder(fn func(value []byte)) {
	s.orders.mu.Lock()
	s.orders.hooks = append(s.orders.hooks[:len(s.orders.hooks):len(s.orders.hooks)], fn)
	s.orders.mu.Unlock()
}

// PublishOrder replicates the order with id (Options.Replicate: it is applied when read back) or,
// in a standalone store, applies it now.
func (s *Store) PublishOrder(id string, value []byte) error {
	if s.opts.Replicate == nil {
		s.orders.fire(value)
		return nil
	}
	if err := s.opts.Replicate(Record{Kind: KindOrder, Key: id, Value: value}); err != nil {
		return fmt.Errorf("%w: order %s: %w", ErrReplication, id, err)
	}
	return nil
}
