package engine

import (
	"errors"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
)

// Backend supplies what the connection-holding part of the server needs from the rest of the
// system: tenants, stream configuration, and the events to fan out. The default backend is the
// local store and the embedded bus; a worker process's backend is its link to the parent
// (engine/cluster); a Kafka instance's source is the topic.
type Backend interface {
	// ResolveTenant and TenantByRealm look tenants up (any reference form; realm → URN).
	ResolveTenant(ref string) (store.Tenant, bool)
	TenantByRealm(realm string) (string, bool)
	// AllConfigs returns the core document and every tenant's document (nil when none).
	AllConfigs() (core []byte, tenants map[string][]byte)
	// Changes fires (coalesced) after any tenant or configuration change.
	Changes() <-chan struct{}
	// Subscribe sets the single consumer of events, in source order.
	Subscribe(fn func(*source.Event))
	// Ready reports whether events flow and configuration is loaded.
	Ready() error
	Close() error
}

// EventSource is an event source that may run beside the local store (the embedded bus, Kafka).
type EventSource interface {
	Subscribe(fn func(*source.Event))
	Ready() error
	Close()
}

// localBackend is the store plus an event source in this process.
type localBackend struct {
	*store.Store
	src EventSource
}

func (b localBackend) Subscribe(fn func(*source.Event)) { b.src.Subscribe(fn) }

func (b localBackend) Ready() error {
	return errors.Join(b.src.Ready(), b.Store.Ready())
}

func (b localBackend) Close() error {
	b.src.Close()
	return b.Store.Close()
}
