package push

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// The tenancy model of the isolation test, written from the rules (not from the code): three
// tenants with the same five streams, one core stream, principals of every kind.

const isoTenantPrefix = "urn:ads:platform:tenant-service:v2:/tenants/00000000000000000000000"

var isoTenants = []string{isoTenantPrefix + "0", isoTenantPrefix + "1", isoTenantPrefix + "2"}

type isoEntry struct {
	ns, name string
	ctxV     string // criteria context {"k": ctxV}; "" = no criteria
}

type isoStream struct {
	id     string
	public bool
	roles  []string
	events []isoEntry
	core   bool
}

var isoStreams = []isoStream{
	{id: "s0", public: true, events: []isoEntry{{"a", "x", ""}}},
	{id: "s1", roles: []string{"r1"}, events: []isoEntry{{"a", "x", ""}, {"b", "y", ""}}},
	{id: "s2", events: []isoEntry{{"b", "y", "v1"}}},
	{id: "s3", roles: []string{"r2"}, events: []isoEntry{{"a", "x", "v2"}, {"c", "z", ""}}},
	{id: "s4", roles: []string{"r1", "r2"}, events: []isoEntry{{"c", "z", ""}}},
	{id: "cs0", roles: []string{"core-r"}, events: []isoEntry{{"a", "x", ""}, {"d", "w", ""}}, core: true},
}

func isoDoc(core bool) []byte {
	var parts []string
	for _, s := range isoStreams {
		if s.core != core {
			continue
		}
		var evs []string
		for _, e := range s.events {
			crit := ""
			if e.ctxV != "" {
				crit = fmt.Sprintf(`,"criteria":{"context":{"k":%q}}`, e.ctxV)
			}
			evs = append(evs, fmt.Sprintf(`{"namespace":%q,"name":%q%s}`, e.ns, e.name, crit))
		}
		roles := `[]`
		if len(s.roles) > 0 {
			roles = `["` + strings.Join(s.roles, `","`) + `"]`
		}
		parts = append(parts, fmt.Sprintf(`%q:{"id":%q,"name":%q,"publicSubscribe":%v,"subscriberRoles":%s,"events":[%s]}`,
			s.id, s.id, s.id, s.public, roles, strings.Join(evs, ",")))
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

type isoTenantIndex struct{}

func (isoTenantIndex) ResolveTenant(ref string) (store.Tenant, bool) {
	for i, id := range isoTenants {
		if ref == fmt.Sprintf("t%d", i) {
			return store.Tenant{ID: id}, true
		}
	}
	return store.Tenant{}, false
}

// isoPrincipals: anonymous, users of each tenant with each role set, core users.
func isoPrincipals() map[string]*auth.Principal {
	ps := map[string]*auth.Principal{"": nil}
	roleSets := map[string][]string{"listener": {auth.RoleStreamListener}, "r1": {"r1"}, "r2": {"r2"}, "none": nil, "core-r": {"core-r"}}
	for i, t := range isoTenants {
		for name, roles := range roleSets {
			ps[fmt.Sprintf("t%d-%s", i, name)] = &auth.Principal{Subject: fmt.Sprintf("u%d-%s", i, name), TenantID: t, Roles: roles}
		}
	}
	for name, roles := range roleSets {
		ps["core-"+name] = &auth.Principal{Subject: "c-" + name, Core: true, Roles: roles}
	}
	return ps
}

// isoScope is the model of scope resolution: "" = cross-tenant; ok false = refused.
func isoScope(p *auth.Principal, tenantRef string) (string, bool) {
	switch {
	case tenantRef != "":
		t, ok := isoTenantIndex{}.ResolveTenant(tenantRef)
		return t.ID, ok
	case p != nil && p.Core:
		return "", true
	case p != nil:
		return p.TenantID, true
	}
	return "", false
}

// isoAllowed is the model of admission.
func isoAllowed(p *auth.Principal, scope string, s *isoStream) bool {
	hasRole := p != nil && (p.HasRole(auth.RoleStreamListener) || p.HasAnyRole(s.roles...))
	if scope == "" {
		return s.core && p != nil && p.Core && hasRole
	}
	if s.public {
		return true
	}
	return p != nil && (p.Core || p.TenantID == scope) && hasRole
}

// isoWants is the model of routing: does a listener of stream s in scope get event ev?
func isoWants(scope string, s *isoStream, ev *source.Event, ctxV string) bool {
	if scope != "" && ev.TenantID != scope {
		return false
	}
	for _, e := range s.events {
		if e.ns == ev.Namespace && e.name == ev.Name && (e.ctxV == "" || e.ctxV == ctxV) {
			return true
		}
	}
	return false
}

type isoListener struct {
	token, ref, stream string
	link               *wireLink
	scope              string
	def                *isoStream
	want               []string // event ids the model delivers to it, in order
}

type isoEvent struct {
	ev   *source.Event
	ctxV string
}

// Random listeners of every principal, tenant reference and stream are admitted exactly when the
// model allows, and each receives exactly the model's events of random traffic, in order: no
// event of another tenant, none it may not see, none missing.
func TestTenantIsolationAgainstTheModel(t *testing.T) {
	reg, err := stream.Build(isoDoc(true), map[string][]byte{isoTenants[0]: isoDoc(false), isoTenants[1]: isoDoc(false), isoTenants[2]: isoDoc(false)})
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Config{Shards: 2}, reg)
	t.Cleanup(h.Close)
	principals := isoPrincipals()
	d := &Deps{Hub: h, Tenants: isoTenantIndex{}, Stats: &Stats{},
		Verify: func(_ context.Context, tok string) (*auth.Principal, error) {
			if p := principals[tok]; p != nil {
				return p, nil
			}
			return nil, errors.New("unknown token")
		}}
	sse := d.NewSSE(SSEConfig{Heartbeat: -1})
	t.Cleanup(sse.Close)

	rng := rand.New(rand.NewPCG(7, 11))
	tokens := make([]string, 0, len(principals))
	for k := range principals {
		tokens = append(tokens, k)
	}
	slices.Sort(tokens)
	refs := []string{"", "t0", "t1", "t2", "t9"}
	ids := []string{"s0", "s1", "s2", "s3", "s4", "cs0", "nope"}
	var listeners []*isoListener
	accepted := 0
	for i := 0; i < 800; i++ {
		l := &isoListener{token: tokens[rng.IntN(len(tokens))], ref: refs[rng.IntN(len(refs))], stream: ids[rng.IntN(len(ids))], link: newWireLink(false)}
		q := map[string][]string{}
		if l.ref != "" {
			q["tenant"] = []string{l.ref}
		}
		req := &conn.Request{Method: "GET", Path: SSEPrefix + l.stream, Query: q}
		if l.token != "" {
			req.Authorization = "Bearer " + l.token
		}
		sse.ServeRequest(req, l.link)
		got := l.link.written()
		ok := len(got) > 0 && strings.HasPrefix(got[0], "HTTP/1.1 200")
		p := principals[l.token]
		scope, scoped := isoScope(p, l.ref)
		var def *isoStream
		for k := range isoStreams {
			if isoStreams[k].id == l.stream && (scope != "" || isoStreams[k].core) {
				def = &isoStreams[k]
			}
		}
		want := scoped && def != nil && isoAllowed(p, scope, def)
		if ok != want {
			t.Fatalf("listener %d (token %q, tenant %q, stream %s): admitted %v, model says %v; answer %q", i, l.token, l.ref, l.stream, ok, want, got)
		}
		if ok {
			l.scope, l.def = scope, def
			listeners = append(listeners, l)
			accepted++
		}
	}

	kinds := [][2]string{{"a", "x"}, {"b", "y"}, {"c", "z"}, {"d", "w"}, {"e", "v"}}
	ctxs := []string{"", "v1", "v2"}
	var evs []isoEvent
	for i := 0; i < 400; i++ {
		k, ctxV := kinds[rng.IntN(len(kinds))], ctxs[rng.IntN(len(ctxs))]
		tenant := isoTenants[rng.IntN(len(isoTenants))]
		ctx := ""
		if ctxV != "" {
			ctx = fmt.Sprintf(`,"context":{"k":%q}`, ctxV)
		}
		ev := &source.Event{ID: fmt.Sprintf("e%d", i), TenantID: tenant, Namespace: k[0], Name: k[1],
			JSON: []byte(fmt.Sprintf(`{"tenantId":%q,"namespace":%q,"name":%q,"timestamp":"2026-01-01T00:00:00.000Z"%s,"payload":{"n":%d}}`, tenant, k[0], k[1], ctx, i))}
		evs = append(evs, isoEvent{ev, ctxV})
		h.Publish(ev)
	}

	delivered := 0
	for _, l := range listeners {
		for _, p := range evs {
			if isoWants(l.scope, l.def, p.ev, p.ctxV) {
				l.want = append(l.want, p.ev.ID)
			}
		}
		want := l.want
		var got []string
		// A timeout is reported by the comparison below, which names the listener.
		_ = waitfor.Bool(5*time.Second, func() bool {
			got = got[:0]
			for _, w := range l.link.written()[1:] {
				id, _, _ := strings.Cut(strings.TrimPrefix(w, "id: "), "\n")
				got = append(got, id)
			}
			return len(got) >= len(want)
		})
		if !slices.Equal(got, want) {
			t.Fatalf("listener (token %q, tenant %q, stream %s, scope %q): got %v\nwant %v", l.token, l.ref, l.stream, l.scope, got, want)
		}
		delivered += len(got)
	}
	time.Sleep(50 * time.Millisecond) // late extras would show now
	for _, l := range listeners {
		if n := len(l.link.written()) - 1; n != len(l.want) {
			t.Fatalf("listener (token %q, stream %s) received %d events, want %d", l.token, l.stream, n, len(l.want))
		}
	}
	t.Logf("%d of 800 listeners admitted as the model says; %d deliveries of 400 events, each as the model says", accepted, delivered)
	if accepted < 100 || delivered < 1000 {
		t.Fatalf("the random mix exercised too little: %d listeners, %d deliveries", accepted, delivered)
	}
}
