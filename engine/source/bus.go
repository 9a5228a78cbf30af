package source

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/dedupe"
)

var (
	// ErrOverloaded reports a full publish queue (HTTP 503 with Retry-After).
	ErrOverloaded = errors.New("source: event queue full")
	// ErrClosed reports a publish to a closed bus.
	ErrClosed = errors.New("source: bus closed")
)

// Publisher accepts events for delivery. Publish assigns ev.ID and returns it; ev must not be
// modified afterwards.
type Publisher interface {
	Publish(ev *Event) (id string, err error)
}

// BusConfig configures NewBus.
type BusConfig struct {
	// QueueSize bounds the events waiting for the dispatcher. Zero means 4096.
	QueueSize int
	// Epoch is the first part of every id. Zero means the current unix time in milliseconds, so
	// a process restarted within the same second still gets a new epoch (with seconds, the ids of
	// a quick restart repeated the previous process's, and so did the webhook-ids derived from
	// them: a receiver deduplicating on webhook-id dropped new events).
	Epoch int64
}

// Bus is the embedded, in-process event source. It is safe for concurrent use.
type Bus struct {
	epochPrefix string

	mu     sync.Mutex // orders id assignment with enqueueing; guards seq and closed
	seq    uint64
	closed bool
	queue  chan *Event
	// seen holds the idempotency keys published lately, with the id each one got.
	seen *dedupe.Window

	fn         atomic.Pointer[func(*Event)]
	subscribed chan struct{}
	subOnce    sync.Once
	stop       chan struct{}
	done       chan struct{}
}

var _ Publisher = (*Bus)(nil)

// NewBus starts a bus and its dispatcher goroutine; stop it with Close.
func NewBus(cfg BusConfig) *Bus {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.Epoch == 0 {
		cfg.Epoch = time.Now().UnixMilli()
	}
	b := &Bus{
		epochPrefix: strconv.FormatInt(cfg.Epoch, 10) + "-",
		queue:       make(chan *Event, cfg.QueueSize),
		seen:        dedupe.New(0, 0),
		subscribed:  make(chan struct{}),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	go b.dispatch()
	return b
}

// Epoch returns the id prefix without the trailing '-'.
func (b *Bus) Epoch() string { return b.epochPrefix[:len(b.epochPrefix)-1] }

// Subscribe sets the consumer. Events published before the first Subscribe wait in the queue. fn
// runs on the dispatcher goroutine, one event at a time in id order; a later Subscribe replaces fn.
func (b *Bus) Subscribe(fn func(*Event)) {
	b.fn.Store(&fn)
	b.subOnce.Do(func() { close(b.subscribed) })
}

// IdempotencyScope is the dedupe key of a publish: one tenant's keys never collide with another's.
func IdempotencyScope(tenantURN, key string) string { return tenantURN + "\x00" + key }

// Publish assigns ev.ID = "<epoch>-<seq>" and enqueues ev. An ev.IdempotencyKey the bus saw within
// the dedupe window (engine/dedupe) is not enqueued again: Publish returns the first one's id. It never blocks: a full queue returns
// ErrOverloaded (and consumes no sequence number), a closed bus ErrClosed.
func (b *Bus) Publish(ev *Event) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "", ErrClosed
	}
	id := b.epochPrefix + strconv.FormatUint(b.seq+1, 10)
	var key string
	if ev.IdempotencyKey != "" {
		key = IdempotencyScope(ev.TenantID, ev.IdempotencyKey)
		if first, repeat := b.seen.First(key, id, time.Now()); repeat {
			return first, nil // a retried publish: delivered once, answered with the first id
		}
	}
	ev.ID = id
	select {
	case b.queue <- ev:
		b.seq++
		return id, nil
	default:
		ev.ID = ""
		if key != "" {
			b.seen.Forget(key) // not published: a retry must go through
		}
		return "", ErrOverloaded
	}
}

// ForgetKey forgets an idempotency key of tenantURN, so that a retry with it is published again:
// the ingest calls it when the event's webhook deliveries could not be recorded and it answered
// "send it again" (a repeat would otherwise be dropped and the deliveries never recorded).
func (b *Bus) ForgetKey(tenantURN, key string) {
	b.seen.Forget(IdempotencyScope(tenantURN, key))
}

// Ready reports nil while the bus accepts events, ErrClosed after Close.
func (b *Bus) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	return nil
}

// Close stops accepting events, delivers the queued ones (if there is a subscriber) and waits for
// the dispatcher to finish. It is idempotent.
func (b *Bus) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
		close(b.stop)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *Bus) dispatch() {
	defer close(b.done)
	select {
	case <-b.subscribed:
	case <-b.stop:
		select {
		case <-b.subscribed: // subscribed and closed: still deliver the backlog
		default:
			return
		}
	}
	for ev := range b.queue {
		(*b.fn.Load())(ev)
	}
}
