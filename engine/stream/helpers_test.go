package stream

import (
	"strings"
	"testing"

	"github.com/pushgate/pushgate/engine/source"
)

const (
	tenantA = "urn:ads:platform:tenant-service:v2:/tenants/aaaaaaaaaaaaaaaaaaaaaaaa"
	tenantB = "urn:ads:platform:tenant-service:v2:/tenants/bbbbbbbbbbbbbbbbbbbbbbbb"
)

// ev builds an event with canonical JSON; context and payload are raw JSON ("" = absent context).
func ev(tenant, ns, name, corr, context, payload string) *source.Event {
	var b strings.Builder
	b.WriteString(`{"tenantId":"` + tenant + `","namespace":"` + ns + `","name":"` + name +
		`","timestamp":"2026-01-02T03:04:05.678Z"`)
	if corr != "" {
		b.WriteString(`,"correlationId":"` + corr + `"`)
	}
	if context != "" {
		b.WriteString(`,"context":` + context)
	}
	if payload == "" {
		payload = "{}"
	}
	b.WriteString(`,"payload":` + payload + `}`)
	return &source.Event{TenantID: tenant, Namespace: ns, Name: name, CorrelationID: corr, JSON: []byte(b.String())}
}

type routed struct {
	key  string
	item string
}

func route(r *Registry, e *source.Event) []routed {
	var out []routed
	r.Route(e, func(s *Stream, item []byte) {
		out = append(out, routed{s.TenantID + "|" + s.ID, string(item)})
	})
	return out
}

func mustBuild(t testing.TB, core string, tenants map[string]string) *Registry {
	t.Helper()
	docs := map[string][]byte{}
	for k, v := range tenants {
		docs[k] = []byte(v)
	}
	var c []byte
	if core != "" {
		c = []byte(core)
	}
	r, err := Build(c, docs)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r
}
