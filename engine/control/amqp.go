package control

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/amqp/adspevent"
	"github.com/pushgate/pushgate/engine/amqp/eventsource"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/amqp/webhookqueue"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
)

// amqpPublishTimeout bounds one ingest publish (with the broker's confirm).
const amqpPublishTimeout = 5 * time.Second

// openAMQP opens the local store and the RabbitMQ stream source (engine/amqp/eventsource). The
// tenantId header is resolved with the ingest's lookup (ResolveTenant). Ingested events are
// published to the exchange as the ADSP event service publishes them, so every instance gets them.
func (p *Plane) openAMQP(rc rabbit.Config) error {
	st, err := store.Open(p.cfg.DataDir, p.storeOptions(nil))
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	p.Store = st
	rc.Logger = p.log
	src, err := eventsource.New(eventsource.Config{
		Rabbit: rc, DataDir: p.cfg.DataDir, Expires: max(p.cfg.RecoveryWindow, p.cfg.HistoryAge),
		ResolveTenant: p.resolveTenantURN, Logger: p.log,
	})
	if err != nil {
		return fmt.Errorf("control: amqp: %w", err)
	}
	pub, err := rabbit.NewLazyPublisher(rc)
	if err != nil {
		src.Close()
		return fmt.Errorf("control: amqp: %w", err)
	}
	p.amqpCfg, p.amqpSource = rc, src
	// The exchange is the event service's own: what is posted to the event service comes back
	// through it, so webhook-triggered goes to the event service alone (adsp.go webhookPublisher).
	p.sourceFromEventService = true
	p.src, p.pub = amqpSource{src: src, pub: pub, plane: p}, amqpPublisher{pub}
	p.log.Info("amqp: events from RabbitMQ", "url", rabbit.Redact(rc.URL), "exchange", rc.Exchange, "queue", src.Queue())
	return nil
}

// resolveTenantURN is the tenant lookup of the AMQP consumers: the same as the ingest's.
func (p *Plane) resolveTenantURN(ref string) (string, bool) {
	t, ok := p.ResolveTenant(ref)
	return t.ID, ok
}

// amqpSource is ready when the stream queue and the webhook queue are consumed.
type amqpSource struct {
	src   *eventsource.Source
	pub   *rabbit.Publisher // the ingest's, closed with the source
	plane *Plane
}

func (a amqpSource) Subscribe(fn func(*source.Event)) { a.src.Subscribe(fn) }
func (a amqpSource) Close()                           { a.src.Close(); _ = a.pub.Close() }
func (a amqpSource) Ready() error {
	errs := []error{a.src.Ready()}
	if q := a.plane.webhookQueue; q != nil {
		errs = append(errs, q.Ready())
	}
	return errors.Join(errs...)
}

// amqpPublisher publishes ingested events to the exchange (adspevent.Encode); the id answered
// is the one the webhook queue gives the event ("amqp-<message id>").
type amqpPublisher struct{ pub *rabbit.Publisher }

func (a amqpPublisher) Publish(ev *source.Event) (string, error) {
	key, id, m, err := adspevent.Encode(ev)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), amqpPublishTimeout)
	defer cancel()
	if err := a.pub.Publish(ctx, key, m); err != nil {
		return "", err
	}
	return "amqp-" + id, nil
}

// startWebhookQueue feeds the webhook sender from the shared queue (engine/amqp/webhookqueue):
// acked once webhook.Service.Record made the deliveries durable.
func (p *Plane) startWebhookQueue(ctx context.Context) error {
	q, err := webhookqueue.New(webhookqueue.Config{Rabbit: p.amqpCfg, ResolveTenant: p.resolveTenantURN, Logger: p.log})
	if err != nil {
		return fmt.Errorf("control: amqp webhook queue: %w", err)
	}
	p.webhookQueue, p.groupDone = q, make(chan struct{})
	go func() {
		defer close(p.groupDone)
		_ = q.Run(ctx, p.Webhooks.Record)
	}()
	return nil
}

// registerAMQPMetrics exposes the RabbitMQ consumers (README "Metrics").
func (p *Plane) registerAMQPMetrics(r prometheus.Registerer) {
	if p.amqpSource == nil {
		return
	}
	type consumer struct {
		queue string
		st    *rabbit.Stats
		rej   *adspevent.Rejections
	}
	cs := []consumer{{"streams", p.amqpSource.Stats(), p.amqpSource.Rejections()}}
	if p.webhookQueue != nil {
		cs = append(cs, consumer{"webhooks", p.webhookQueue.Stats(), p.webhookQueue.Rejections()})
	}
	for _, c := range cs {
		labels := prometheus.Labels{"queue": c.queue}
		st := c.st
		counter := func(name, help string, fn func() float64) {
			r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, fn))
		}
		counter("pushgate_amqp_messages_total", "RabbitMQ messages received.", func() float64 { return float64(st.Consumed.Load()) })
		counter("pushgate_amqp_acked_total", "RabbitMQ messages acknowledged (in the hub's history, or the webhook outbox).", func() float64 { return float64(st.Acked.Load()) })
		counter("pushgate_amqp_connection_failures_total", "RabbitMQ connection attempts or sessions ended by an error.", func() float64 { return float64(st.Failures.Load()) })
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pushgate_amqp_consuming", Help: "1 while the queue is consumed.", ConstLabels: labels}, func() float64 {
			if st.Consuming.Load() {
				return 1
			}
			return 0
		}))
		for _, reason := range adspevent.Reasons {
			rej, reason := c.rej, reason
			r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "pushgate_amqp_rejected_total", Help: "RabbitMQ messages rejected to the dead-letter exchange, by reason.",
				ConstLabels: prometheus.Labels{"queue": c.queue, "reason": reason},
			}, func() float64 { return float64(rej.Count(reason)) }))
		}
	}
}
