package control

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/kafka/group"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/webhook"
)

// The webhook sender belongs to the control half: it needs the store (durable outbox, endpoint
// state), the documents of every rebuild and the publisher (push-service:webhook-triggered), and
// it runs in the one process that owns them — the single server, or the parent of --workers.

// openWebhooks creates and starts the sender. It reloads after every rebuild (a removed webhook
// stops at once). Without Kafka it is fed by Subscribe after the hub, so fan-out never waits for
// it. With Kafka every instance reads every event for its hub, so the sender is fed instead by the
// webhook consumer group the instances share: each event's webhooks are recorded by one instance,
// and the group commits the offsets only once they are durable (webhook.Service.Record).
func (p *Plane) openWebhooks(ctx context.Context) error {
	wc := webhook.Config{
		Settings: p.cfg.Webhooks, Store: p.Store, Publisher: p.webhookPublisher(), Logger: p.log, Registerer: p.opts.Metrics,
		Tracer: p.cfg.Tracer, Journal: filepath.Join(p.cfg.DataDir, "webhooks.journal"),
		Configs: func() ([]byte, map[string][]byte) {
			snap := p.Documents()
			return snap.Core, snap.Tenants
		},
	}
	wc.Guard = *p.webhookGuard()
	w, err := webhook.New(wc)
	if err != nil {
		return fmt.Errorf("control: webhooks: %w", err)
	}
	p.Webhooks = w
	p.webhooksLive.advance(p.Documents().Revision) // webhook.New compiled the current documents
	w.Start()
	if p.Kafka != nil {
		g, err := group.New(group.Config{Config: p.kafkaCfg, Group: p.cfg.WebhookGroup, SessionTimeout: p.cfg.WebhookGroupSession})
		if err != nil {
			return fmt.Errorf("control: webhook consumer group: %w", err)
		}
		p.webhookGroup, p.groupDone = g, make(chan struct{})
		if p.opts.Metrics != nil {
			registerGroupMetrics(p.opts.Metrics, g.Stats())
		}
		go func() {
			defer close(p.groupDone)
			if err := g.Run(ctx, w.Record); err != nil && ctx.Err() == nil {
				p.log.Error("webhook consumer group stopped", "err", err)
			}
		}()
	}
	if p.amqpSource != nil {
		return p.startWebhookQueue(ctx)
	}
	return nil
}

// feedWebhooks is the webhook sender's consumer of the control plane's changes, on its own
// goroutine: after a documents revision (handed over by rebuild, once the hub has it) and after a
// webhook state change (a secret created, rotated, an endpoint disabled, a confirmation read back
// from the config topic) it reloads the sender. A reload may write webhook state, which replicates
// to the config topic (up to the publish timeout): that never delays the registry, the hub or an
// API write, which waits only until the sender matches with the new documents
// (webhook.Service.ReloadThen).
func (p *Plane) feedWebhooks(ctx context.Context) {
	defer close(p.webhooksDone)
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.docsChanged:
		case <-p.Store.WebhookStateChanges():
		}
		rev := p.Documents().Revision
		if err := p.Webhooks.ReloadThen(func() { p.webhooksLive.advance(rev) }); err != nil {
			p.log.Error("webhook configuration reload failed", "err", err)
		}
	}
}

// webhookGuard is the SSRF policy of this mode, one value for the save-time check (store
// validation) and the dial-time one (the sender's dialler).
func (p *Plane) webhookGuard() *webhook.Guard {
	g := p.cfg.Webhooks.Guard
	if p.cfg.DevMode() {
		g.AllowLoopback = true // make run: receivers on 127.0.0.1
	}
	return &g
}

// closeWebhooks stops the consumer group, then the sender (in-flight attempts stay pending in the
// store and are sent after a restart).
func (p *Plane) closeWebhooks() {
	if p.webhookGroup != nil {
		_ = p.webhookGroup.Close()
		<-p.groupDone
	}
	if p.webhookQueue != nil {
		p.cancel() // ends the queue's Run
		<-p.groupDone
	}
	if p.Webhooks != nil {
		p.Webhooks.Close()
	}
}

// observeWebhooks offers an event to the sender without Kafka; it never blocks
// (webhook.Service.Observe).
func (p *Plane) observeWebhooks(ev *source.Event) {
	if p.Webhooks != nil && p.webhookGroup == nil && p.webhookQueue == nil {
		p.Webhooks.Observe(ev)
	}
}

// durableWebhooks is what the ingest waits on before answering: on the embedded bus, the webhook
// sender's record of the event's deliveries (with Kafka or RabbitMQ the broker holds the event, and
// the webhook consumer group or the shared webhook queue records its deliveries — on whichever
// instance consumes it — before committing or acknowledging it).
func (p *Plane) durableWebhooks() api.DurableWebhooks {
	if p.Webhooks == nil || p.Kafka != nil || p.amqpSource != nil || p.cfg.Webhooks.EarlyAck {
		return nil
	}
	return p.Webhooks
}

// registerGroupMetrics exposes the webhook consumer group (README "Metrics").
func registerGroupMetrics(r prometheus.Registerer, st *group.Stats) {
	c := func(name, help string, fn func() float64) { metrics.Counter(r, name, help, fn) }
	c("pushgate_webhook_group_records_committed_total", "Events-topic records whose webhooks this instance recorded and committed (Kafka mode).", func() float64 { return float64(st.Committed.Load()) })
	c("pushgate_webhook_group_handler_errors_total", "Batches of the webhook consumer group not recorded (retried, not committed).", func() float64 { return float64(st.HandlerErrors.Load()) })
	c("pushgate_webhook_group_rebalances_total", "Generations of the webhook consumer group this instance joined.", func() float64 { return float64(st.Rebalances.Load()) })
	metrics.Gauge(r, "pushgate_webhook_group_partitions", "Events-topic partitions this instance handles webhooks for (0 while not joined).", func() float64 { return float64(st.Assigned.Load()) })
	metrics.Gauge(r, "pushgate_webhook_group_lag", "Records of this instance's partitions whose webhooks are not recorded yet.", func() float64 { return float64(st.Lag()) })
}
