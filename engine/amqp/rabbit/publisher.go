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
// After a failure the next Publish dials again (no background reconnection). It is safe for
// concurrent use: publishes share the channel (amqp091's channel is), and mu only guards the
// connection fields — no network I/O is done while holding it.
type Publisher struct {
	cfg     Config
	mu      sync.Mutex // guards conn, ch and dialing (leaf; never held across I/O)
	conn    *amqp.Connection
	ch      *amqp.Channel
	dialing chan struct{} // closed when the dial in progress ends
}

// NewPublisher connects and asserts the exchange.
func NewPublisher(cfg Config) (*Publisher, error) {
	cfg.applyDefaults()
	p := &Publisher{cfg: cfg}
	if _, err := p.channel(); err != nil {
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

// channel returns the open channel, dialling (outside the lock) when there is none; concurrent
// callers wait for the one dial in progress instead of dialling too.
func (p *Publisher) channel() (*amqp.Channel, error) {
	for {
		p.mu.Lock()
		if p.ch != nil && !p.ch.IsClosed() {
			ch := p.ch
			p.mu.Unlock()
			return ch, nil
		}
		if wait := p.dialing; wait != nil {
			p.mu.Unlock()
			<-wait
			continue
		}
		p.dialing = make(chan struct{})
		p.mu.Unlock()
		conn, ch, err := p.dial()
		p.mu.Lock()
		old := p.conn
		if err == nil {
			p.conn, p.ch = conn, ch
		}
		close(p.dialing)
		p.dialing = nil
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if old != nil {
			_ = old.Close()
		}
		return ch, nil
	}
}

func (p *Publisher) dial() (*amqp.Connection, *amqp.Channel, error) {
	cfg := p.cfg
	conn, err := cfg.dial()
	if err != nil {
		return nil, nil, err
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
		return nil, nil, fmt.Errorf("rabbit: publisher: %w", err)
	}
	return conn, ch, nil
}

// drop closes the connection of ch if it is still the current one.
func (p *Publisher) drop(ch *amqp.Channel) {
	p.mu.Lock()
	var conn *amqp.Connection
	if p.ch == ch {
		conn, p.conn, p.ch = p.conn, nil, nil
	}
	p.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// Publish sends m with routingKey and waits until the broker confirms it.
func (p *Publisher) Publish(ctx context.Context, routingKey string, m Outgoing) error {
	mode := amqp.Transient
	if m.Persistent {
		mode = amqp.Persistent
	}
	ch, err := p.channel()
	if err != nil {
		return err
	}
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, p.cfg.Exchange, routingKey, false, false, amqp.Publishing{
		Headers: amqpTable(m.Headers), ContentType: m.ContentType, MessageId: m.MessageID,
		CorrelationId: m.CorrelationID, DeliveryMode: mode, Body: m.Body,
	})
	if err != nil {
		p.drop(ch)
		return fmt.Errorf("rabbit: publish %q: %w", routingKey, err)
	}
	ok, err := conf.WaitContext(ctx)
	if err != nil {
		p.drop(ch)
		return fmt.Errorf("rabbit: publish %q: %w", routingKey, err)
	}
	if !ok {
		return errors.New("rabbit: publish " + routingKey + ": nacked by the broker")
	}
	return nil
}

// QueueMessages returns the number of ready messages in a queue (for operators and tests).
func (p *Publisher) QueueMessages(name string) (int, error) {
	if _, err := p.channel(); err != nil {
		return 0, err
	}
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	if conn == nil {
		return 0, errors.New("rabbit: publisher closed")
	}
	ch, err := conn.Channel()
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
	conn := p.conn
	p.conn, p.ch = nil, nil
	p.mu.Unlock()
	if conn != nil {
		return conn.Close()
	}
	return nil
}
