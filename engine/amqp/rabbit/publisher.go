package rabbit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Outgoing is a message to publish.
type Outgoing struct {
	ContentType   string
	MessageID     string
	CorrelationID string
	Persistent    bool
	// Headers hold plain values (nested map[string]any and []any become tables and arrays).
	Headers map[string]any
	Body    []byte
}

// Publisher publishes to the events exchange on one connection, waiting for the broker's confirm.
// It does not reconnect (tests and tools use it); it is safe for concurrent use.
type Publisher struct {
	cfg  Config
	conn *amqp.Connection
	mu   sync.Mutex // one publish (and its confirm) at a time
	ch   *amqp.Channel
}

// NewPublisher connects and asserts the exchange.
func NewPublisher(cfg Config) (*Publisher, error) {
	cfg.applyDefaults()
	conn, err := cfg.dial()
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.ExchangeDeclare(cfg.Exchange, "topic", true, false, false, false, nil)
	}
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("rabbit: publisher: %w", err)
	}
	return &Publisher{cfg: cfg, conn: conn, ch: ch}, nil
}

// Publish sends m with routingKey and waits until the broker confirms it.
func (p *Publisher) Publish(ctx context.Context, routingKey string, m Outgoing) error {
	mode := amqp.Transient
	if m.Persistent {
		mode = amqp.Persistent
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	conf, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, p.cfg.Exchange, routingKey, false, false, amqp.Publishing{
		Headers: amqpTable(m.Headers), ContentType: m.ContentType, MessageId: m.MessageID,
		CorrelationId: m.CorrelationID, DeliveryMode: mode, Body: m.Body,
	})
	if err != nil {
		return fmt.Errorf("rabbit: publish %q: %w", routingKey, err)
	}
	ok, err := conf.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("rabbit: publish %q: %w", routingKey, err)
	}
	if !ok {
		return errors.New("rabbit: publish " + routingKey + ": nacked by the broker")
	}
	return nil
}

// QueueMessages returns the number of ready messages in a queue (for operators and tests).
func (p *Publisher) QueueMessages(name string) (int, error) {
	ch, err := p.conn.Channel()
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("rabbit: inspect queue %q: %w", name, err)
	}
	return q.Messages, nil
}

// Close closes the connection.
func (p *Publisher) Close() error { return p.conn.Close() }
