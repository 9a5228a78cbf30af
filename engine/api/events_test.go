package api

import (
	"strings"
	"testing"

	"github.com/pushgate/pushgate/engine/source"
)

func event(extra string) string {
	return `{"namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05.678Z","correlationId":"c1","context":{"k":"v"},"payload":{"n":1}` + extra + `}`
}

func TestIngest(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, token, body, tenant string
	}{
		{"tenant token", "acme-admin", event(""), f.acme.ID},
		{"tenant token naming itself by slug", "acme-admin", event(`,"tenantId":"acme-corp"`), f.acme.ID},
		{"tenant token naming itself by URN", "acme-admin", event(`,"tenantId":"` + f.acme.ID + `"`), f.acme.ID},
		{"core token by name", "core-admin", event(`,"tenantId":"BETA"`), f.beta.ID},
		{"core token by bare id", "core-admin", event(`,"tenantId":"` + strings.TrimPrefix(f.beta.ID, "urn:ads:platform:tenant-service:v2:/tenants/") + `"`), f.beta.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do("POST", "/event/v1/events", tt.token, tt.body)
			if r.status != 200 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			ev := f.pub.last()
			if string(r.body) != `{"id":"`+ev.ID+`"}` {
				t.Fatalf("body %s, event id %s", r.body, ev.ID)
			}
			want := `{"tenantId":"` + tt.tenant + `","namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05.678Z","correlationId":"c1","context":{"k":"v"},"payload":{"n":1}}`
			if ev.TenantID != tt.tenant || string(ev.JSON) != want {
				t.Fatalf("event %s / %s", ev.TenantID, ev.JSON)
			}
		})
	}
}

func TestIngestErrors(t *testing.T) {
	f := newFixture(t)
	deep := `{"namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05Z","payload":` +
		strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`
	big := event(`,"pad":"` + strings.Repeat("x", source.MaxEventBytes) + `"`)
	tests := []struct {
		name, token, body string
		status            int
		msg               string
	}{
		{"no role", "acme-user", event(""), 403, "not permitted"},
		{"core without role", "core-none", event(`,"tenantId":"beta"`), 403, "not permitted"},
		{"other tenant", "acme-admin", event(`,"tenantId":"beta"`), 403, "another tenant"},
		{"other tenant by URN", "beta-admin", event(`,"tenantId":"` + f.acme.ID + `"`), 403, "another tenant"},
		{"unknown tenant (tenant token)", "acme-admin", event(`,"tenantId":"nobody"`), 404, "Tenant not found"},
		{"core without tenantId", "core-admin", event(""), 400, "tenantId is required"},
		{"core with unknown tenant", "core-admin", event(`,"tenantId":"nobody"`), 404, "Tenant not found"},
		{"malformed", "acme-admin", `{"namespace":"svc",`, 400, "not valid JSON"},
		{"not an object", "acme-admin", `"x"`, 400, "JSON object"},
		{"empty body", "acme-admin", ``, 400, "JSON object"},
		{"missing namespace", "acme-admin", `{"name":"done","timestamp":"2026-01-02T03:04:05Z","payload":{}}`, 400, "namespace is required"},
		{"bad timestamp", "acme-admin", `{"namespace":"svc","name":"done","timestamp":"soon","payload":{}}`, 400, "ISO-8601"},
		{"missing payload", "acme-admin", `{"namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05Z"}`, 400, "payload is required"},
		{"nested context", "acme-admin", `{"namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05Z","payload":{},"context":{"a":[]}}`, 400, "context value"},
		{"too deep", "acme-admin", deep, 400, "deeper than 32"},
		{"too large", "acme-admin", big, 413, "1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.do("POST", "/event/v1/events", tt.token, tt.body), tt.status, tt.msg)
		})
	}
	if ev := f.pub.last(); ev != nil {
		t.Fatalf("a rejected event was published: %s", ev.JSON)
	}
}

func TestIngestUnavailable(t *testing.T) {
	f := newFixture(t)
	f.pub.err = source.ErrOverloaded
	r := f.do("POST", "/event/v1/events", "acme-admin", event(""))
	expectError(t, r, 503, "retry later")
	if string(r.header.Peek("Retry-After")) != "1" {
		t.Fatalf("Retry-After = %q", r.header.Peek("Retry-After"))
	}
	f.pub.err = source.ErrClosed
	expectError(t, f.do("POST", "/event/v1/events", "acme-admin", event("")), 503, "not available")

	g := newFixture(t, func(d *Deps) { d.Publisher = nil })
	expectError(t, g.do("POST", "/event/v1/events", "acme-admin", event("")), 503, "not available")
}

func TestIngestThroughBus(t *testing.T) {
	bus := source.NewBus(source.BusConfig{Epoch: 42})
	defer bus.Close()
	got := make(chan *source.Event, 1)
	bus.Subscribe(func(ev *source.Event) { got <- ev })
	f := newFixture(t, func(d *Deps) { d.Publisher = bus })
	r := f.do("POST", "/event/v1/events", "acme-admin", event(""))
	if r.status != 200 || string(r.body) != `{"id":"42-1"}` {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if ev := <-got; ev.ID != "42-1" || ev.TenantID != f.acme.ID {
		t.Fatalf("delivered %+v", ev)
	}
}
