package control

import (
	"context"
	"time"

	"github.com/bytedance/sonic"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/webhook"
)

// storeOptions are the store's options in every mode: documents validated on write (streams and
// webhooks; on a local write the webhook URLs also pass the save-time SSRF check of the guard), the core
// streams seeded on first start, and replication when a Kafka configuration topic is used.
// With the ADSP tenant service, it owns the tenants.
func (p *Plane) storeOptions(replicate func(store.Record) error) store.Options {
	o := store.Options{Validate: webhook.ValidateWith(stream.ValidateDocument), ValidatePatch: p.webhookGuard().CheckDocument, Seed: stream.CoreStreams, Replicate: replicate}
	if p.tenants != nil {
		o.Tenants = p.tenants
	}
	return o
}

// documentsTimeout bounds one read of every document from a configuration-service.
const documentsTimeout = 30 * time.Second

// documents reads the stream documents a rebuild compiles: the store's, or — with
// --configuration-service-url — the configuration-service's for the core and every tenant the
// store knows (through the reader's cache; with the ADSP tenant service, every tenant it knows).
func (p *Plane) documents() (core []byte, tenants map[string][]byte) {
	if p.reader == nil {
		return p.Store.AllConfigs()
	}
	ts := p.Store.Tenants()
	urns := make([]string, len(ts))
	for i, t := range ts {
		urns[i] = t.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), documentsTimeout)
	defer cancel()
	return p.reader.Documents(ctx, urns)
}

// observe passes configuration-service events to the reader, which invalidates the tenant's
// cached document when the event is about platform:push-service.
func (p *Plane) observe(ev *source.Event) {
	if ev.Namespace != "configuration-service" {
		return
	}
	p.reader.Observe(ev.Namespace, ev.Name, ev.TenantID, rawField(ev.JSON, "payload"), rawField(ev.JSON, "context"))
}

func rawField(obj []byte, key string) []byte {
	n, err := sonic.Get(obj, key)
	if err != nil {
		return nil
	}
	raw, err := n.Raw()
	if err != nil {
		return nil
	}
	return []byte(raw)
}
