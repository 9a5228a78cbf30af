package control

import (
	"log/slog"

	"github.com/pushgate/pushgate/engine/stream"
)

// BuildRegistry compiles the core document and every tenant's document into a registry. It is
// the one place documents become a registry, in every process: documents that do not compile
// are skipped and logged (with the tenant named), so one bad document never blocks the rest.
func BuildRegistry(log *slog.Logger, core []byte, tenants map[string][]byte) *stream.Registry {
	reg, err := stream.Build(core, tenants)
	if err != nil {
		log.Error("stream registry: documents skipped", "err", err)
	}
	return reg
}

// Snapshot is what a rebuild read: the documents and the registry compiled from them.
type Snapshot struct {
	Core     []byte
	Tenants  map[string][]byte
	Registry *stream.Registry
	Revision uint64 // the store revision (store.Store.Revision) the documents were read at
}

// rebuild reads the documents, compiles them and tells the watchers (the hub, the workers'
// snapshots), then marks the store revision it read live and hands the documents to the webhook
// sender (on its own goroutine). After New only the watch goroutine calls it, so rebuilds never
// overlap and one from an older read never replaces a newer one.
func (p *Plane) rebuild() {
	rev := p.Store.Revision() // read before the documents: the rebuild covers at least rev
	core, tenants := p.documents()
	snap := &Snapshot{Core: core, Tenants: tenants, Registry: BuildRegistry(p.log, core, tenants), Revision: rev}
	p.snap.Store(snap)
	p.rebuilds.Add(1)
	p.watchMu.Lock()
	watchers := p.watchers
	p.watchMu.Unlock()
	for _, fn := range watchers {
		fn()
	}
	p.live.advance(rev)
	signalOne(p.docsChanged)
}

// Rebuilds counts the registry rebuilds since New (one per documents revision, or per
// configuration-service invalidation).
func (p *Plane) Rebuilds() int64 { return p.rebuilds.Load() }

// applied is the API's Applied: it returns once the store revision of the caller's committed
// write is live — compiled into the registry the hub routes with and queued to the workers — and
// the webhook sender matches events against it. It waits for the watch goroutine; it never
// rebuilds itself (one rebuild per revision).
func (p *Plane) applied() {
	rev := p.Store.Revision()
	p.live.wait(rev, p.done)
	p.webhooksLive.wait(rev, p.done)
}

// Registry implements edge.Backend: the registry of the latest rebuild.
func (p *Plane) Registry() *stream.Registry { return p.snap.Load().Registry }

// Documents returns the documents of the latest rebuild (shared: do not modify).
func (p *Plane) Documents() *Snapshot { return p.snap.Load() }

// OnChange implements edge.Backend: fn runs after every rebuild, once the new registry and
// tenants are visible, on the rebuilding goroutine, before the API answers the write that caused
// it. Webhook state changes run no rebuild.
func (p *Plane) OnChange(fn func()) {
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	p.watchers = append(p.watchers, fn)
}
