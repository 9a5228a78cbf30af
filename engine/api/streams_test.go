package api

import (
	"sort"
	"strings"
	"testing"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/stream"
)

const tenantStreams = `{"operation":"REPLACE","configuration":{
 "public-one":{"id":"public-one","name":"Public","publicSubscribe":true,"events":[{"namespace":"svc","name":"done","map":{"x":"payload.x"}}]},
 "role-one":{"id":"role-one","name":"Role <b>","description":"d","subscriberRoles":["acme-role"],"events":[]}}}`

func TestListStreams(t *testing.T) {
	f := newFixture(t)
	for _, tn := range []string{"acme-corp", "beta"} {
		if r := f.do("PATCH", configPath+"?tenantId="+tn, "core-admin", tenantStreams); r.status != 200 {
			t.Fatalf("setup %d %s", r.status, r.body)
		}
	}
	f.principals["acme-role"] = &auth.Principal{Subject: "a5", TenantID: f.acme.ID, Roles: []string{"acme-role"}}
	f.principals["core-task"] = &auth.Principal{Subject: "c3", Core: true, Roles: []string{"urn:ads:platform:task-service:task-reader"}}
	keys := func(r response) string {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		var ks []string
		for k := range r.json(t) {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	core7 := "configuration-updates,directory-entry-updates,export-updates,form-questions-updates,pdf-generation-updates,public-one,role-one,submitted-form-pdf-updates,task-updates"
	tests := []struct {
		name, token, query, want string
	}{
		{"anonymous, tenant by slug", "", "?tenant=acme-corp", "public-one"},
		{"anonymous, tenant by name", "", "?tenant=Acme%20Corp", "public-one"},
		{"anonymous, tenant by id", "", "?tenant=" + strings.TrimPrefix(f.acme.ID, "urn:ads:platform:tenant-service:v2:/tenants/"), "public-one"},
		{"anonymous, tenant by URN", "", "?tenant=" + f.acme.ID, "public-one"},
		{"tenant user without roles", "acme-user", "", "public-one"},
		{"tenant user with subscriber role", "acme-role", "", "public-one,role-one"},
		{"stream-listener sees all of its tenant", "acme-admin", "", core7},
		{"stream-listener of another tenant", "beta-admin", "?tenant=acme-corp", "public-one"},
		{"core user names a tenant", "core-admin", "?tenant=beta", core7},
		{"core user with one core role", "core-task", "?tenant=beta", "public-one,task-updates"},
		{"tenant without a document gets core streams", "core-admin", "?tenant=demo", strings.NewReplacer("public-one,", "", "role-one,", "").Replace(core7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys(f.do("GET", "/stream/v1/streams"+tt.query, tt.token, "")); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	r := f.do("GET", "/stream/v1/streams", "acme-role", "")
	const want = `{"public-one":{"id":"public-one","name":"Public","description":null,"publicSubscribe":true,"subscriberRoles":[],"events":[{"namespace":"svc","name":"done","map":{"x":"payload.x"}}]},"role-one":{"id":"role-one","name":"Role <b>","description":"d","publicSubscribe":false,"subscriberRoles":["acme-role"],"events":[]}}`
	if string(r.body) != want || string(r.header.ContentType()) != "application/json" {
		t.Fatalf("body %s", r.body)
	}
}

func TestListStreamsErrors(t *testing.T) {
	f := newFixture(t)
	expectError(t, f.do("GET", "/stream/v1/streams", "", ""), 400, "No tenant specified for request.")
	expectError(t, f.do("GET", "/stream/v1/streams", "core-admin", ""), 400, "No tenant specified for request.")
	expectError(t, f.do("GET", "/stream/v1/streams?tenant=", "", ""), 400, "No tenant specified for request.")
	expectError(t, f.do("GET", "/stream/v1/streams?tenant=nobody", "", ""), 404, "Tenant not found")
	expectError(t, f.do("GET", "/stream/v1/streams?tenant=nobody", "acme-admin", ""), 404, "Tenant not found")
	expectError(t, f.do("GET", "/stream/v1/streams?tenant=demo", "expired", ""), 401, "invalid")

	g := newFixture(t, func(d *Deps) { d.Registry = func() *stream.Registry { return nil } })
	expectError(t, g.do("GET", "/stream/v1/streams?tenant=demo", "", ""), 503, "not available")
	h := newFixture(t, func(d *Deps) { d.Registry = nil })
	expectError(t, h.do("GET", "/stream/v1/streams?tenant=demo", "", ""), 503, "not available")
}
