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
// After a failure the next Publish dials again (no background reconnection); it is safe for
// concurrent use.
type Publisher struct {
	cfg  Config
	mu   sync.Mutex // one publish (and its confirm) at a time; guards conn and ch
	conn *amqp.Connection
	ch   *amqp.Channel
}

// NewPublisher connects and asserts the exchange.
func NewPublisher(cfg Config) (*Publisher, error) {
	cfg.applyDefaults()
	p := &Publisher{cfg: cfg}
	if err := p.connect(); err != nil {
		return nil, err
	}
	return p, nil
}

// NewLazyPublisher is a Publisher that connects on its first Publish.
func NewLazyPublisher(cfg Config) (*Publisher, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Publisher{cfg: cfg}, nil
}

func (p *Publisher) connect() error {
	cfg := p.cfg
	conn, err := cfg.dial()
	if err != nil {
		return err
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
		return fmt.Errorf("rabbit: publisher: %w", err)
	}
	p.conn, p.ch = conn, ch
	return nil
}

func (p *Publisher) drop() {
	if p.conn != nil {
		_ = p.conn.Close()
	}
	p.conn, p.ch = nil, nil
}

// Publish sends m with routingKey and waits until the broker confirms it.
func (p *Publisher) Publish(ctx context.Context, routingKey string, m Outgoing) error {
	mode := amqp.Transient
	if m.Persistent {
		mode = amqp.Persistent
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil || p.ch.IsClosed() {
		p.drop()
		if err := p.connect(); err != nil {
			return err
		}
	}
	conf, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, p.cfg.Exchange, routingKey, false, false, amqp.Publishing{
		Headers: amqpTable(m.Headers), ContentType: m.ContentType, MessageId: m.MessageID,
		CorrelationId: m.CorrelationID, DeliveryMode: mode, Body: m.Body,
	})
	if err != nil {
		p.drop()
		return fmt.Errorf("rabbit: publish %q: %w", routingKey, err)
	}
	ok, err := conf.WaitContext(ctx)
	if err != nil {
		p.drop()
		return fmt.Errorf("rabbit: publish %q: %w", routingKey, err)
	}
	if !ok {
		return errors.New("rabbit: publish " + routingKey + ": nacked by the broker")
	}
	return nil
}

// QueueMessages returns the number of ready messages in a queue (for operators and tests).
func (p *Publisher) QueueMessages(name string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		if err := p.connect(); err != nil {
			return 0, err
		}
	}
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
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop()
	return nil
}
