package control

import (
	"fmt"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/webhook"
)

// The webhook sender belongs to the control half: it needs the store (durable outbox, endpoint
// state), the documents of every rebuild and the publisher (push-service:webhook-triggered), and
// it runs in the one process that owns them — the single server, or the parent of --workers.

// openWebhooks creates and starts the sender. It reloads after every rebuild (a removed webhook
// stops at once) and is fed by Subscribe after the hub, so fan-out never waits for it.
func (p *Plane) openWebhooks() error {
	wc := webhook.Config{
		Settings: p.cfg.Webhooks, Store: p.Store, Publisher: p.pub, Logger: p.log, Registerer: p.opts.Metrics,
		Configs: func() ([]byte, map[string][]byte) {
			snap := p.Documents()
			return snap.Core, snap.Tenants
		},
	}
	if p.cfg.DevMode() {
		wc.Guard.AllowLoopback = true // make run: receivers on 127.0.0.1
	}
	w, err := webhook.New(wc)
	if err != nil {
		return fmt.Errorf("control: webhooks: %w", err)
	}
	p.Webhooks = w
	p.OnChange(func() {
		if err := w.Reload(); err != nil {
			p.log.Error("webhook configuration reload failed", "err", err)
		}
	})
	w.Start()
	return nil
}

// observeWebhooks offers an event to the sender; it never blocks (webhook.Service.Observe).
func (p *Plane) observeWebhooks(ev *source.Event) {
	if p.Webhooks != nil {
		p.Webhooks.Observe(ev)
	}
}
