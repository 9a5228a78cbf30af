package stream

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/pushgate/pushgate/engine/source"
)

// Registry is the compiled, immutable set of streams of every scope. Build a new one on each
// configuration change and swap it in atomically; a Registry is safe for concurrent use.
type Registry struct {
	cross   *scope
	tenants map[string]*scope
}

type scope struct {
	byID   map[string]*Stream
	sorted []*Stream
	index  map[eventKey][]candidate
}

type eventKey struct {
	namespace, name string
}

// candidate is one events[] entry of one stream, indexed under its (namespace, name).
type candidate struct {
	s *Stream
	e *entry
}

// Build compiles the core document and the tenant documents (keyed by tenant URN; a nil or empty
// document means no tenant streams) into a Registry:
//   - tenant T sees its own streams merged with the core streams, the core stream winning on an id
//     collision (ADSP combineConfiguration), all scoped to T;
//   - the cross-tenant scope ("") sees only the core streams, matching events of every tenant.
//
// Only tenants present in the map get a scope. Build always returns a usable Registry: a document
// that fails validation is skipped (that tenant then sees only the core streams; an invalid core
// document means no core streams) and reported in the returned error, which joins one error per bad
// document, each wrapping ErrInvalidDocument and naming the tenant.
func Build(core []byte, tenants map[string][]byte) (*Registry, error) {
	var errs []error
	coreDefs, err := parseDocument(core, false)
	if err != nil {
		errs = append(errs, fmt.Errorf("core document: %w", err))
	}
	r := &Registry{
		cross:   newScope("", coreDefs, nil),
		tenants: make(map[string]*scope, len(tenants)),
	}
	for _, t := range slices.Sorted(maps.Keys(tenants)) {
		if t == "" {
			errs = append(errs, fmt.Errorf("%w: empty tenant id", ErrInvalidDocument))
			continue
		}
		defs, err := parseDocument(tenants[t], false)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t, err))
		}
		r.tenants[t] = newScope(t, defs, coreDefs)
	}
	return r, errors.Join(errs...)
}

func newScope(tenant string, own, core map[string]*streamDef) *scope {
	merged := make(map[string]*streamDef, len(own)+len(core))
	maps.Copy(merged, own)
	maps.Copy(merged, core) // core wins
	sc := &scope{byID: make(map[string]*Stream, len(merged)), index: map[eventKey][]candidate{}}
	for _, id := range slices.Sorted(maps.Keys(merged)) {
		d := merged[id]
		s := &Stream{
			ID:              d.id,
			Name:            d.name,
			Description:     d.description,
			PublicSubscribe: d.publicSubscribe,
			SubscriberRoles: d.subscriberRoles,
			TenantID:        tenant,
			key:             tenant + "\x00" + d.id,
			def:             d,
		}
		sc.byID[id] = s
		sc.sorted = append(sc.sorted, s)
		for _, e := range d.entries {
			k := eventKey{e.namespace, e.name}
			sc.index[k] = append(sc.index[k], candidate{s, e})
		}
	}
	return sc
}

func (r *Registry) scope(tenant string) *scope {
	if tenant == "" {
		return r.cross
	}
	return r.tenants[tenant]
}

// Lookup returns the stream id visible in scope scopeTenant ("" = cross-tenant).
func (r *Registry) Lookup(scopeTenant, streamID string) (*Stream, bool) {
	sc := r.scope(scopeTenant)
	if sc == nil {
		return nil, false
	}
	s, ok := sc.byID[streamID]
	return s, ok
}

// List returns the streams visible in scope scopeTenant, sorted by id (a fresh slice).
func (r *Registry) List(scopeTenant string) []*Stream {
	sc := r.scope(scopeTenant)
	if sc == nil {
		return nil
	}
	return slices.Clone(sc.sorted)
}

// Route calls fn once for every stream scope the event matches: first the streams of the event's
// tenant scope (ev.TenantID), then the cross-tenant streams, each in id order. For each stream the
// first matching events[] entry decides the projection; item is the projected JSON, built once per
// stream scope and event (ev.JSON itself when the entry has no map; the same bytes when a core
// entry matches in both scopes). fn must treat item as immutable; it may retain it. Route does not
// allocate when no stream matches.
func (r *Registry) Route(ev *source.Event, fn func(s *Stream, item []byte)) {
	k := eventKey{ev.Namespace, ev.Name}
	rt := router{ev: ev, ctx: -1}
	if ev.TenantID != "" {
		if sc := r.tenants[ev.TenantID]; sc != nil {
			rt.route(sc.index[k], fn)
		}
	}
	if r.cross != nil {
		rt.route(r.cross.index[k], fn)
	}
}

// router holds the per-event state of Route: the lazily located context and recently projected
// items (a core entry matched in the tenant scope and in the cross-tenant scope projects once).
type router struct {
	ev    *source.Event
	ctx   int // offset of the context value in ev.JSON; -1 not looked up, -2 absent
	cache [4]struct {
		e    *entry
		item []byte
	}
	n int
}

func (rt *router) route(cands []candidate, fn func(s *Stream, item []byte)) {
	var last *Stream
	for _, c := range cands {
		if c.s == last || !rt.matches(c.e) {
			continue
		}
		last = c.s
		fn(c.s, rt.item(c.e))
	}
}

func (rt *router) matches(e *entry) bool {
	c := e.criteria
	if c == nil {
		return true
	}
	if c.correlationID != "" && c.correlationID != rt.ev.CorrelationID {
		return false
	}
	if len(c.context) == 0 {
		return true
	}
	if rt.ctx == -1 {
		rt.ctx = -2
		if vs, _, ok := objectGet(rt.ev.JSON, skipWS(rt.ev.JSON, 0), "context"); ok {
			rt.ctx = vs
		}
	}
	return rt.ctx >= 0 && c.matchContext(rt.ev.JSON, rt.ctx)
}

func (rt *router) item(e *entry) []byte {
	if e.proj == nil {
		return rt.ev.JSON
	}
	for i := 0; i < rt.n; i++ {
		if rt.cache[i].e == e {
			return rt.cache[i].item
		}
	}
	item := e.proj.project(rt.ev.JSON)
	if rt.n < len(rt.cache) {
		rt.cache[rt.n].e, rt.cache[rt.n].item = e, item
		rt.n++
	}
	return item
}
