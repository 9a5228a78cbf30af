package rabbit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrNotConnected is Ready's answer before the first connection.
var ErrNotConnected = errors.New("rabbit: not connected yet")

// Queue is what a Consumer reads and how it is declared.
type Queue struct {
	// Name of the queue. Required.
	Name string
	// Binding is the routing-key pattern bound on the exchange ("#": every event).
	Binding string
	// Quorum declares a quorum queue (replicated; its messages survive a broker restart even when
	// published transient, as ADSP publishes them), falling back to a durable classic queue on a
	// broker that refuses it.
	Quorum bool
	// Expires is the queue's x-expires: the broker deletes it after this long without a consumer.
	// Zero means never.
	Expires time.Duration
	// DeadLetterExchange receives the rejected messages (a durable fanout exchange, asserted),
	// kept in DeadLetterQueue (bounded to DeadLetterMax messages, oldest dropped). Empty means none.
	DeadLetterExchange, DeadLetterQueue string
	DeadLetterMax                       int
	// Prefetch bounds the unacknowledged messages (and so a batch). Zero means 500.
	Prefetch int
	// SoleConsumer makes the queue single-active-consumer (x-single-active-consumer) and refuses
	// to consume while it already has a consumer: a second process on the same queue (the same
	// instance id, e.g. a copied data dir) reports why instead of sharing the messages. A consumer
	// left over by a crashed process is dropped by the broker after two heartbeats; until then
	// the restarted process retries.
	SoleConsumer bool
	// RecreateOnMismatch: when the queue exists with other arguments (a changed --recovery-window),
	// delete and declare it again (a per-instance queue); otherwise use it as it is (a shared queue
	// another version may have declared).
	RecreateOnMismatch bool
}

// Stats are a Consumer's counters; safe to read concurrently.
type Stats struct {
	Connects      atomic.Uint64 // successful connections (the first included)
	Failures      atomic.Uint64 // connection attempts or sessions ended by an error
	Consumed      atomic.Uint64 // messages received
	Acked         atomic.Uint64 // messages acknowledged
	Rejected      atomic.Uint64 // messages rejected (dead-lettered)
	HandlerErrors atomic.Uint64 // handler calls that returned an error (batch retried)
	Consuming     atomic.Bool   // consuming now
}

// Consumer reads one queue through its own connection and channel. Create it with NewConsumer,
// run it with Run; Ready and Stats are safe for concurrent use.
type Consumer struct {
	cfg   Config
	q     Queue
	stats Stats

	lastErr atomic.Pointer[error]

	logMu       sync.Mutex
	failingFrom time.Time // zero while healthy
	lastLog     time.Time
	failures    int
}

// NewConsumer validates cfg and q; it does not connect (Run does).
func NewConsumer(cfg Config, q Queue) (*Consumer, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if q.Name == "" {
		return nil, errors.New("rabbit: queue name is required")
	}
	if q.Prefetch <= 0 {
		q.Prefetch = DefaultPrefetch
	}
	if q.DeadLetterMax <= 0 {
		q.DeadLetterMax = 10000
	}
	return &Consumer{cfg: cfg, q: q}, nil
}

// Stats returns the live counters.
func (c *Consumer) Stats() *Stats { return &c.stats }

// Ready is nil while consuming, else the reason (ErrNotConnected before the first attempt).
func (c *Consumer) Ready() error {
	if c.stats.Consuming.Load() {
		return nil
	}
	if e := c.lastErr.Load(); e != nil {
		return fmt.Errorf("rabbit: queue %q not consuming: %w", c.q.Name, *e)
	}
	return fmt.Errorf("%w (%s)", ErrNotConnected, Redact(c.cfg.URL))
}

// Run consumes until ctx ends (then it returns nil), reconnecting after every failure. handle gets
// the batches (see the package doc) on Run's goroutine.
func (c *Consumer) Run(ctx context.Context, handle func([]*Message) error) error {
	for attempt := 1; ; attempt++ {
		err := c.session(ctx, handle, func() { attempt = 0 })
		c.stats.Consuming.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		c.stats.Failures.Add(1)
		c.lastErr.Store(&err)
		c.logFailure(err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff(max(attempt, 1), c.cfg.BackoffMin, c.cfg.BackoffMax)):
		}
	}
}

// session is one connection: dial, declare, consume until an error or ctx ends.
func (c *Consumer) session(ctx context.Context, handle func([]*Message) error, connected func()) error {
	conn, err := c.cfg.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	ch, err := c.declare(conn)
	if err != nil {
		return err
	}
	if err := ch.Qos(c.q.Prefetch, 0, false); err != nil {
		return fmt.Errorf("rabbit: prefetch on %q: %w", c.q.Name, err)
	}
	if c.q.SoleConsumer {
		q, err := ch.QueueDeclarePassive(c.q.Name, true, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("rabbit: inspect queue %q: %w", c.q.Name, err)
		}
		if q.Consumers > 0 {
			return fmt.Errorf("rabbit: queue %q is consumed by another process (the same instance id: a copied data dir, or a crashed process the broker has not dropped yet)", c.q.Name)
		}
	}
	deliveries, err := ch.Consume(c.q.Name, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("rabbit: consume %q: %w", c.q.Name, err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	c.stats.Connects.Add(1)
	c.stats.Consuming.Store(true)
	c.lastErr.Store(nil)
	c.logRecovery()
	connected()
	lost := func() error {
		select {
		case e := <-closed:
			if e != nil {
				return fmt.Errorf("rabbit: connection to %s lost: %w", Redact(c.cfg.URL), e)
			}
		default:
		}
		if e := ch.IsClosed(); e {
			return fmt.Errorf("rabbit: channel of queue %q closed by the broker", c.q.Name)
		}
		return fmt.Errorf("rabbit: consumer of queue %q cancelled", c.q.Name)
	}
	batch := make([]*Message, 0, c.q.Prefetch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return ctx.Err()
		case d, ok := <-deliveries:
			if !ok {
				return lost()
			}
			batch = append(batch, newMessage(&d))
		}
	drain: // whatever has arrived already joins the batch; never wait for more
		for len(batch) < c.q.Prefetch {
			select {
			case d, ok := <-deliveries:
				if !ok {
					return lost() // unsettled: the broker redelivers them
				}
				batch = append(batch, newMessage(&d))
			default:
				break drain
			}
		}
		c.stats.Consumed.Add(uint64(len(batch)))
		for attempt := 1; ; attempt++ {
			err := handle(batch)
			if err == nil {
				break
			}
			c.stats.HandlerErrors.Add(1)
			c.cfg.Logger.Warn("rabbit: handler failed; the batch is handed again", "queue", c.q.Name, "messages", len(batch), "err", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-closed:
				return lost()
			case <-time.After(backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax)):
			}
		}
		if err := c.settle(ch, batch); err != nil {
			return err
		}
	}
}

// settle rejects the marked messages and acks the rest with one multiple ack.
func (c *Consumer) settle(ch *amqp.Channel, batch []*Message) error {
	var lastAck uint64
	var acked uint64
	for _, m := range batch {
		if m.reject {
			if err := ch.Reject(m.tag, false); err != nil {
				return fmt.Errorf("rabbit: reject on %q: %w", c.q.Name, err)
			}
			c.stats.Rejected.Add(1)
			continue
		}
		lastAck = m.tag
		acked++
	}
	if lastAck != 0 {
		if err := ch.Ack(lastAck, true); err != nil {
			return fmt.Errorf("rabbit: ack on %q: %w", c.q.Name, err)
		}
		c.stats.Acked.Add(acked)
	}
	return nil
}

// declare asserts the exchange, the dead-letter exchange and queue, the queue and its binding,
// and returns a channel on which all of them exist.
func (c *Consumer) declare(conn *amqp.Connection) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("rabbit: open channel: %w", err)
	}
	if err := ch.ExchangeDeclare(c.cfg.Exchange, "topic", true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("rabbit: assert exchange %q (a durable topic exchange): %w", c.cfg.Exchange, err)
	}
	args := amqp.Table{}
	if c.q.Expires > 0 {
		args["x-expires"] = c.q.Expires.Milliseconds()
	}
	if c.q.SoleConsumer {
		args["x-single-active-consumer"] = true
	}
	if c.q.DeadLetterExchange != "" {
		if ch, err = c.declareDeadLetter(conn, ch); err != nil {
			return nil, err
		}
		args["x-dead-letter-exchange"] = c.q.DeadLetterExchange
	}
	if ch, err = c.declareQueue(conn, ch, c.q.Name, args, c.q.RecreateOnMismatch); err != nil {
		return nil, err
	}
	if err := ch.QueueBind(c.q.Name, c.q.Binding, c.cfg.Exchange, false, nil); err != nil {
		return nil, fmt.Errorf("rabbit: bind %q to %q with %q: %w", c.q.Name, c.cfg.Exchange, c.q.Binding, err)
	}
	return ch, nil
}

func (c *Consumer) declareDeadLetter(conn *amqp.Connection, ch *amqp.Channel) (*amqp.Channel, error) {
	if err := ch.ExchangeDeclare(c.q.DeadLetterExchange, "fanout", true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("rabbit: assert dead-letter exchange %q: %w", c.q.DeadLetterExchange, err)
	}
	args := amqp.Table{"x-max-length": int64(c.q.DeadLetterMax), "x-overflow": "drop-head"}
	ch, err := c.declareQueue(conn, ch, c.q.DeadLetterQueue, args, false)
	if err != nil {
		return nil, err
	}
	if err := ch.QueueBind(c.q.DeadLetterQueue, "", c.q.DeadLetterExchange, false, nil); err != nil {
		return nil, fmt.Errorf("rabbit: bind dead-letter queue %q: %w", c.q.DeadLetterQueue, err)
	}
	return ch, nil
}

// declareQueue declares a durable queue (quorum when asked, classic when the broker refuses it).
// A declaration error closes the channel, so each retry opens a new one.
func (c *Consumer) declareQueue(conn *amqp.Connection, ch *amqp.Channel, name string, args amqp.Table, recreate bool) (*amqp.Channel, error) {
	withType := args
	if c.q.Quorum {
		withType = amqp.Table{"x-queue-type": "quorum"}
		for k, v := range args {
			withType[k] = v
		}
	}
	_, err := ch.QueueDeclare(name, true, false, false, false, withType)
	if err == nil {
		return ch, nil
	}
	var ae *amqp.Error
	mismatch := errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed
	if ch, err2 := conn.Channel(); err2 == nil {
		switch {
		case mismatch && recreate:
			c.cfg.Logger.Warn("rabbit: queue exists with other arguments; declaring it again", "queue", name, "err", err)
			if _, err = ch.QueueDelete(name, false, false, false); err == nil {
				if _, err = ch.QueueDeclare(name, true, false, false, false, withType); err == nil {
					return ch, nil
				}
			}
		case mismatch:
			if _, err = ch.QueueDeclarePassive(name, true, false, false, false, nil); err == nil {
				c.cfg.Logger.Info("rabbit: using the existing queue as declared", "queue", name)
				return ch, nil
			}
		case c.q.Quorum && !(ae != nil && ae.Code == amqp.AccessRefused):
			if _, err = ch.QueueDeclare(name, true, false, false, false, args); err == nil {
				c.cfg.Logger.Warn("rabbit: broker refused a quorum queue; using a classic durable queue", "queue", name)
				return ch, nil
			}
		}
	}
	return nil, fmt.Errorf("rabbit: declare queue %q: %w", name, err)
}

func (c *Consumer) logFailure(err error) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	now := time.Now()
	c.failures++
	if c.failingFrom.IsZero() {
		c.failingFrom, c.lastLog = now, now
		c.cfg.Logger.Error("rabbit: cannot consume; retrying with backoff", "queue", c.q.Name, "url", Redact(c.cfg.URL), "err", err)
		return
	}
	if now.Sub(c.lastLog) >= c.cfg.ErrorLogInterval {
		c.lastLog = now
		c.cfg.Logger.Error("rabbit: still cannot consume", "queue", c.q.Name, "url", Redact(c.cfg.URL), "since", c.failingFrom.Format(time.RFC3339), "attempts", c.failures, "err", err)
	}
}

func (c *Consumer) logRecovery() {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if !c.failingFrom.IsZero() {
		c.cfg.Logger.Info("rabbit: consuming again", "queue", c.q.Name, "down_for", time.Since(c.failingFrom).Round(time.Millisecond), "attempts", c.failures)
	}
	c.failingFrom, c.failures = time.Time{}, 0
}
