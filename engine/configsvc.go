package engine

import (
	"context"
	"errors"
	"time"

	"github.com/bytedance/sonic"

	"github.com/pushgate/pushgate/engine/configsvc"
	"github.com/pushgate/pushgate/engine/source"
)

// remoteConfigBackend reads stream documents from an ADSP configuration-service instead of the
// local store; tenants, events and everything else still come from the wrapped backend.
// configuration-service events on the event source invalidate the tenant's cached document.
type remoteConfigBackend struct {
	Backend
	tenants interface{ TenantURNs() []string }
	reader  *configsvc.Reader
	changes chan struct{}
	cancel  context.CancelFunc
}

func newRemoteConfigBackend(b Backend, tenants interface{ TenantURNs() []string }, r *configsvc.Reader) *remoteConfigBackend {
	ctx, cancel := context.WithCancel(context.Background())
	rb := &remoteConfigBackend{Backend: b, tenants: tenants, reader: r, changes: make(chan struct{}, 1), cancel: cancel}
	r.Start(ctx)
	go rb.merge(ctx)
	return rb
}

// merge forwards both change sources (tenants from the store, documents from the reader).
func (b *remoteConfigBackend) merge(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.Backend.Changes():
		case <-b.reader.Changes():
		}
		select {
		case b.changes <- struct{}{}:
		default:
		}
	}
}

func (b *remoteConfigBackend) Changes() <-chan struct{} { return b.changes }

// AllConfigs fetches (through the reader's cache) the core document and every known tenant's.
func (b *remoteConfigBackend) AllConfigs() ([]byte, map[string][]byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return b.reader.Documents(ctx, b.tenants.TenantURNs())
}

// Subscribe watches every event for configuration-service invalidations on its way to the hub.
func (b *remoteConfigBackend) Subscribe(fn func(*source.Event)) {
	b.Backend.Subscribe(func(ev *source.Event) {
		if ev.Namespace == "configuration-service" {
			payload, context := rawField(ev.JSON, "payload"), rawField(ev.JSON, "context")
			b.reader.Observe(ev.Namespace, ev.Name, ev.TenantID, payload, context)
		}
		fn(ev)
	})
}

func (b *remoteConfigBackend) Ready() error {
	return errors.Join(b.Backend.Ready(), b.reader.Ready())
}

func (b *remoteConfigBackend) Close() error {
	b.cancel()
	return b.Backend.Close()
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

// storeTenants lists the tenant URNs of the local store.
type storeTenants struct{ Backend }

func (t storeTenants) TenantURNs() []string {
	lb, ok := t.Backend.(localBackend)
	if !ok {
		return nil
	}
	var out []string
	for _, tn := range lb.Store.Tenants() {
		out = append(out, tn.ID)
	}
	return out
}
