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
}

// rebuild reads the documents, compiles them and tells the watchers. Rebuilds are serialised, so
// one from an older read never replaces a newer one.
func (p *Plane) rebuild() {
	p.rebuildMu.Lock()
	defer p.rebuildMu.Unlock()
	core, tenants := p.documents()
	snap := &Snapshot{Core: core, Tenants: tenants, Registry: BuildRegistry(p.log, core, tenants)}
	p.snap.Store(snap)
	p.watchMu.Lock()
	watchers := p.watchers
	p.watchMu.Unlock()
	for _, fn := range watchers {
		fn()
	}
}

// Registry implements edge.Backend: the registry of the latest rebuild.
func (p *Plane) Registry() *stream.Registry { return p.snap.Load().Registry }

// Documents returns the documents of the latest rebuild (shared: do not modify).
func (p *Plane) Documents() *Snapshot { return p.snap.Load() }

// OnChange implements edge.Backend: fn runs after every rebuild, once the new registry and
// tenants are visible, on the rebuilding goroutine.
func (p *Plane) OnChange(fn func()) {
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	p.watchers = append(p.watchers, fn)
}
