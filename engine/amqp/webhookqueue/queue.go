package webhookqueue

import (
	"context"
	"errors"
	"log/slog"

	"github.com/pushgate/pushgate/engine/amqp/adspevent"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/source"
)

// Defaults.
const (
	DefaultQueue    = "pushgate.webhooks"
	DeadLetter      = "pushgate.webhooks.dead-letter" // exchange and queue
	DefaultPrefetch = 500
)

// Config configures New.
type Config struct {
	Rabbit rabbit.Config
	// Queue is the shared queue. Zero means "pushgate.webhooks".
	Queue string
	// Prefetch bounds the unacknowledged messages and a batch. Zero means 500.
	Prefetch int
	// ResolveTenant maps a tenantId header to a tenant URN. Required.
	ResolveTenant func(ref string) (string, bool)
	Logger        *slog.Logger
}

// Consumer is one instance's member of the shared webhook queue.
type Consumer struct {
	cfg      Config
	consumer *rabbit.Consumer
	rej      *adspevent.Rejections
}

// New prepares the consumer; Run starts it.
func New(cfg Config) (*Consumer, error) {
	if cfg.ResolveTenant == nil {
		return nil, errors.New("webhookqueue: ResolveTenant is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Rabbit.Logger = cfg.Logger
	if cfg.Queue == "" {
		cfg.Queue = DefaultQueue
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = DefaultPrefetch
	}
	c, err := rabbit.NewConsumer(cfg.Rabbit, rabbit.Queue{
		Name: cfg.Queue, Binding: "#", Quorum: true, Prefetch: cfg.Prefetch,
		DeadLetterExchange: DeadLetter, DeadLetterQueue: DeadLetter,
	})
	if err != nil {
		return nil, err
	}
	return &Consumer{cfg: cfg, consumer: c, rej: adspevent.NewRejections(cfg.Queue, cfg.Logger)}, nil
}

// Run consumes until ctx ends. record gets the batch's events (ev.ID = adspevent.StableID);
// the messages are acked only after it returned nil, else handed again after a backoff.
func (c *Consumer) Run(ctx context.Context, record func([]*source.Event) error) error {
	return c.consumer.Run(ctx, func(batch []*rabbit.Message) error {
		evs := make([]*source.Event, 0, len(batch))
		for _, m := range batch {
			ev, rej := adspevent.Convert(m, c.cfg.ResolveTenant)
			if rej != nil {
				if !m.Rejected() { // a retried batch counts each rejection once
					m.Reject()
					c.rej.Add(rej, m.RoutingKey)
				}
				continue
			}
			ev.ID = adspevent.StableID(m)
			evs = append(evs, ev)
		}
		if len(evs) == 0 {
			return nil
		}
		return record(evs)
	})
}

// Ready is nil while consuming, else the reason.
func (c *Consumer) Ready() error { return c.consumer.Ready() }

// Rejections are the counters of rejected messages.
func (c *Consumer) Rejections() *adspevent.Rejections { return c.rej }

// Stats are the consumer's counters.
func (c *Consumer) Stats() *rabbit.Stats { return c.consumer.Stats() }
