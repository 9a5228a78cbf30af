package stream

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/source"
)

const scopeCore = `{
 "shared": {"id":"shared","name":"Core shared","events":[{"namespace":"n","name":"e"}]},
 "core-only": {"id":"core-only","name":"Core only","events":[{"namespace":"n","name":"e","map":{"p":"payload.p"}}]}
}`

const scopeTenantA = `{
 "webhooks": {"w": {"id":"w","name":"W","url":"https://example"}},
 "shared": {"id":"shared","name":"Tenant shared","events":[{"namespace":"n","name":"e"}]},
 "mine": {"id":"mine","name":"Mine","events":[{"namespace":"n","name":"e"},{"namespace":"other","name":"x"}]}
}`

func TestRegistryScopes(t *testing.T) {
	r := mustBuild(t, scopeCore, map[string]string{tenantA: scopeTenantA, tenantB: ""})
	ids := func(ss []*Stream) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	tests := []struct {
		scope string
		want  []string
	}{
		{tenantA, []string{"core-only", "mine", "shared"}},
		{tenantB, []string{"core-only", "shared"}},
		{"", []string{"core-only", "shared"}},
		{"urn:unknown", nil},
	}
	for _, tt := range tests {
		if got := ids(r.List(tt.scope)); !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %v, want %v", tt.scope, got, tt.want)
		}
	}
	s, ok := r.Lookup(tenantA, "shared")
	if !ok || s.Name != "Core shared" || s.TenantID != tenantA || s.Key() != tenantA+"\x00shared" {
		t.Fatalf("core must win on collision, scoped to the tenant: %+v", s)
	}
	if _, ok := r.Lookup(tenantA, "webhooks"); ok {
		t.Fatal("webhooks must not be a stream")
	}
	if _, ok := r.Lookup("", "mine"); ok {
		t.Fatal("cross-tenant scope must not see tenant streams")
	}
	if s, ok := r.Lookup("", "shared"); !ok || s.TenantID != "" || s.Key() != "\x00shared" {
		t.Fatalf("cross-tenant lookup: %+v %v", s, ok)
	}
	r2 := mustBuild(t, scopeCore, map[string]string{tenantA: scopeTenantA})
	s2, _ := r2.Lookup(tenantA, "mine")
	if m, _ := r.Lookup(tenantA, "mine"); m.Key() != s2.Key() {
		t.Fatal("keys must be stable across rebuilds")
	}
}

func TestRoute(t *testing.T) {
	r := mustBuild(t, scopeCore, map[string]string{tenantA: scopeTenantA, tenantB: ""})
	tests := []struct {
		name string
		ev   string // tenant
		ns   string
		want []string
	}{
		{"tenant A event", tenantA, "n", []string{tenantA + "|core-only", tenantA + "|mine", tenantA + "|shared", "|core-only", "|shared"}},
		{"tenant B event", tenantB, "n", []string{tenantB + "|core-only", tenantB + "|shared", "|core-only", "|shared"}},
		{"unknown tenant event: cross-tenant only", "urn:x", "n", []string{"|core-only", "|shared"}},
		{"second entry of tenant stream", tenantA, "other", []string{tenantA + "|mine"}},
		{"no match", tenantA, "none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "e"
			if tt.ns == "other" {
				name = "x"
			}
			var got []string
			for _, g := range route(r, ev(tt.ev, tt.ns, name, "", "", `{"p":1}`)) {
				got = append(got, g.key)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("routed %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRouteFirstEntryWins(t *testing.T) {
	doc := `{"s":{"id":"s","name":"S","events":[
	 {"namespace":"n","name":"e","criteria":{"context":{"k":"a"}},"map":{"which":"payload.first"}},
	 {"namespace":"n","name":"e","map":{"which":"payload.second"}},
	 {"namespace":"n","name":"e"}
	]}}`
	r := mustBuild(t, "", map[string]string{tenantA: doc})
	tests := []struct {
		context, want string
	}{
		{`{"k":"a"}`, `"which":1`},
		{`{"k":"b"}`, `"which":2`},
		{``, `"which":2`},
	}
	for _, tt := range tests {
		got := route(r, ev(tenantA, "n", "e", "", tt.context, `{"first":1,"second":2}`))
		if len(got) != 1 || !strings.Contains(got[0].item, tt.want) {
			t.Fatalf("context %s: got %v, want one item with %s", tt.context, got, tt.want)
		}
	}
}

func TestRouteStreamCriteria(t *testing.T) {
	doc := `{"s":{"id":"s","name":"S","events":[{"namespace":"n","name":"e","criteria":{"correlationId":"c1","context":{"n":123,"b":true}}}]}}`
	r := mustBuild(t, "", map[string]string{tenantA: doc})
	tests := []struct {
		name, corr, context string
		want                bool
	}{
		{"all equal", "c1", `{"n":123,"b":true,"extra":1}`, true},
		{"correlation differs", "c2", `{"n":123,"b":true}`, false},
		{"number vs string", "c1", `{"n":"123","b":true}`, false},
		{"missing context", "c1", ``, false},
		{"missing key", "c1", `{"n":123}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(route(r, ev(tenantA, "n", "e", tt.corr, tt.context, ""))) == 1
			if got != tt.want {
				t.Fatalf("matched = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRouteSharesItemAcrossScopes(t *testing.T) {
	r := mustBuild(t, scopeCore, map[string]string{tenantA: ""})
	var items [][]byte
	r.Route(ev(tenantA, "n", "e", "", "", `{"p":1}`), func(s *Stream, item []byte) {
		if s.ID == "core-only" {
			items = append(items, item)
		}
	})
	if len(items) != 2 || &items[0][0] != &items[1][0] {
		t.Fatalf("core mapped item should be encoded once for both scopes, got %d items", len(items))
	}
	want := `{"tenantId":"` + tenantA + `","namespace":"n","name":"e","p":1}`
	if string(items[0]) != want {
		t.Fatalf("item %s, want %s", items[0], want)
	}
}

func TestCanSubscribe(t *testing.T) {
	doc := `{"priv":{"id":"priv","name":"P","subscriberRoles":["sub-role"]},"pub":{"id":"pub","name":"Pub","publicSubscribe":true}}`
	r := mustBuild(t, `{"corepub":{"id":"corepub","name":"C","publicSubscribe":true,"subscriberRoles":["sub-role"]}}`, map[string]string{tenantA: doc})
	tenantUser := func(tenant string, roles ...string) *auth.Principal {
		return &auth.Principal{Subject: "u", TenantID: tenant, Roles: roles}
	}
	core := func(roles ...string) *auth.Principal { return &auth.Principal{Subject: "c", Core: true, Roles: roles} }
	tests := []struct {
		name, scope, stream string
		p                   *auth.Principal
		want                bool
	}{
		{"subscriber role", tenantA, "priv", tenantUser(tenantA, "sub-role"), true},
		{"stream-listener", tenantA, "priv", tenantUser(tenantA, auth.RoleStreamListener), true},
		{"no role", tenantA, "priv", tenantUser(tenantA, "other"), false},
		{"other tenant with role", tenantA, "priv", tenantUser(tenantB, "sub-role"), false},
		{"core user with role", tenantA, "priv", core("sub-role"), true},
		{"core user without role", tenantA, "priv", core(), false},
		{"anonymous private", tenantA, "priv", auth.AnonymousPrincipal, false},
		{"nil principal private", tenantA, "priv", nil, false},
		{"anonymous public", tenantA, "pub", auth.AnonymousPrincipal, true},
		{"nil principal public", tenantA, "pub", nil, true},
		{"other tenant public", tenantA, "pub", tenantUser(tenantB), true},
		{"core public scoped to tenant", tenantA, "corepub", auth.AnonymousPrincipal, true},
		{"cross-tenant non-core", "", "corepub", tenantUser(tenantA, "sub-role"), false},
		{"cross-tenant core with role", "", "corepub", core("sub-role"), true},
		{"cross-tenant core stream-listener", "", "corepub", core(auth.RoleStreamListener), true},
		{"cross-tenant core no role", "", "corepub", core(), false},
		{"cross-tenant public ignored", "", "corepub", auth.AnonymousPrincipal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := r.Lookup(tt.scope, tt.stream)
			if !ok {
				t.Fatal("stream not found")
			}
			if got := s.CanSubscribe(tt.p); got != tt.want {
				t.Fatalf("CanSubscribe = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStreamJSON(t *testing.T) {
	doc := `{"s":{"id":"s","name":"S <&>","description":"d","publicSubscribe":true,"subscriberRoles":["r1"],"unknown":1,
	  "events":[ {"namespace":"n", "name":"e", "map":{}, "criteria":{"context":{"a":1}}} ]},
	  "t":{"id":"t","name":"T"}}`
	r := mustBuild(t, "", map[string]string{tenantA: doc})
	tests := []struct{ id, want string }{
		{"s", `{"id":"s","name":"S <&>","description":"d","publicSubscribe":true,"subscriberRoles":["r1"],"events":[{"namespace":"n","name":"e","map":{},"criteria":{"context":{"a":1}}}]}`},
		{"t", `{"id":"t","name":"T","description":null,"publicSubscribe":false,"subscriberRoles":[],"events":[]}`},
	}
	for _, tt := range tests {
		s, _ := r.Lookup(tenantA, tt.id)
		if got := string(s.AppendJSON([]byte("x"))); got != "x"+tt.want {
			t.Errorf("AppendJSON(%s) = %s\nwant x%s", tt.id, got, tt.want)
		}
		// encoding/json re-escapes HTML in Marshaler output; compare values.
		got, err := json.Marshal(s)
		var a, b any
		if err != nil || json.Unmarshal(got, &a) != nil || json.Unmarshal([]byte(tt.want), &b) != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("json.Marshal(%s) = %s, %v", tt.id, got, err)
		}
	}
}

func TestCoreStreams(t *testing.T) {
	if err := ValidateDocument(CoreStreams()); err != nil {
		t.Fatal(err)
	}
	r := mustBuild(t, string(CoreStreams()), nil)
	want := []string{"configuration-updates", "directory-entry-updates", "export-updates", "form-questions-updates",
		"pdf-generation-updates", "submitted-form-pdf-updates", "task-updates"}
	var got []string
	for _, s := range r.List("") {
		got = append(got, s.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("core streams %v, want %v", got, want)
	}
	e := ev(tenantA, "pdf-service", "pdf-generated", "j", `{"jobId":"j","templateId":"submitted-form"}`,
		`{"jobId":"j","templateId":"submitted-form","file":"urn:file"}`)
	res := route(r, e)
	if len(res) != 2 || res[0].key != "|pdf-generation-updates" || res[0].item != string(e.JSON) ||
		res[1].key != "|submitted-form-pdf-updates" ||
		res[1].item != `{"tenantId":"`+tenantA+`","namespace":"pdf-service","name":"pdf-generated","correlationId":"j","context":{"jobId":"j","templateId":"submitted-form"},"timestamp":"2026-01-02T03:04:05.678Z","jobId":"j","templateId":"submitted-form","file":"urn:file"}` {
		t.Fatalf("routed %v", res)
	}
	if n := len(route(r, ev(tenantA, "task-service", "task-deleted", "", "", ""))); n != 1 {
		t.Fatalf("task-updates matched %d times", n)
	}
	s, _ := r.Lookup("", "task-updates")
	if !s.CanSubscribe(&auth.Principal{Core: true, Roles: []string{"urn:ads:platform:task-service:task-reader"}}) {
		t.Fatal("task-reader should subscribe to task-updates")
	}
}

func TestRouteAllocations(t *testing.T) {
	r := mustBuild(t, string(CoreStreams()), map[string]string{tenantA: scopeTenantA})
	noMatch := ev(tenantA, "pdf-service", "pdf-generated", "j", `{"templateId":"other"}`, `{"jobId":"j"}`)
	unmapped := ev(tenantA, "task-service", "task-created", "", "", `{"x":1}`)
	none := ev(tenantA, "none", "none", "", "", "")
	fn := func(*Stream, []byte) {}
	tests := []struct {
		name string
		e    *source.Event
	}{
		{"criteria rejection", noMatch},
		{"no candidates", none},
		{"unmapped match", unmapped},
	}
	for _, tt := range tests {
		if a := testing.AllocsPerRun(100, func() { r.Route(tt.e, fn) }); a > 0 {
			t.Errorf("Route %s: %v allocs, want 0", tt.name, a)
		}
	}
}
