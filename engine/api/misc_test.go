package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRoot(t *testing.T) {
	f := newFixture(t)
	r := f.do("GET", "/", "", "")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	const want = `{"name":"Push service","description":"Service for push mode connections.","_links":{"self":{"href":"https://push.example/"},"health":{"href":"https://push.example/health"},"api":{"href":"https://push.example/stream/v1"},"docs":{"href":"https://push.example/swagger/docs/v1"}}}`
	if string(r.body) != want {
		t.Fatalf("body %s", r.body)
	}
	g := newFixture(t, func(d *Deps) { d.PublicURL = "" })
	if r := g.do("GET", "/", "", ""); !strings.Contains(string(r.body), `"http://internal.test:8080/health"`) {
		t.Fatalf("without PublicURL: %s", r.body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var readyErr error
	f := newFixture(t, func(d *Deps) { d.Ready = func() error { return readyErr } })
	for _, p := range []string{"/health", "/livez", "/readyz"} {
		if r := f.do("GET", p, "", ""); r.status != 200 || string(r.header.ContentType()) != "application/json" {
			t.Fatalf("%s = %d %s", p, r.status, r.body)
		}
	}
	readyErr = errors.New("event source not connected")
	expectError(t, f.do("GET", "/readyz", "", ""), 503, "event source not connected")
	if r := f.do("GET", "/livez", "", ""); r.status != 200 {
		t.Fatalf("liveness follows readiness: %d", r.status)
	}
	readyErr = nil
	_ = f.st.Close()
	expectError(t, f.do("GET", "/readyz", "", ""), 503, "store")
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "pushgate_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	f := newFixture(t, func(d *Deps) { d.Gatherer = reg })
	r := f.do("GET", "/metrics", "", "")
	if r.status != 200 || !strings.Contains(string(r.body), "pushgate_test_total 3") {
		t.Fatalf("metrics %d %s", r.status, r.body)
	}
	if !strings.HasPrefix(string(r.header.ContentType()), "text/plain") {
		t.Fatalf("Content-Type %q", r.header.ContentType())
	}
}

func TestRouting(t *testing.T) {
	f := newFixture(t)
	expectError(t, f.do("GET", "/nope", "", ""), 404, "Not found")
	expectError(t, f.do("GET", "/stream/v1/streams/x/y", "", ""), 404, "Not found")
	// The SSE route belongs to the engine.
	expectError(t, f.do("GET", "/stream/v1/streams/some-stream", "", ""), 404, "Not found")
	r := f.do("DELETE", "/tenant/v2/tenants", "core-admin", "")
	expectError(t, r, 405, "Method not allowed")
	if allow := string(r.header.Peek("Allow")); allow != "GET, POST" {
		t.Fatalf("Allow = %q", allow)
	}
	// Without an Issuer the development issuer routes do not exist.
	expectError(t, f.do("GET", "/auth/realms/core/.well-known/openid-configuration", "", ""), 404, "Not found")
}

func TestDevIssuerRoutes(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Issuer = fakeIssuer{} })
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/auth/realms/core/.well-known/openid-configuration", 200, `{"issuer":"https://push.example/auth/realms/core"}`},
		{"/auth/realms/acme-corp/.well-known/openid-configuration", 200, `{"issuer":"https://push.example/auth/realms/acme-corp"}`},
		{"/auth/realms/demo/protocol/openid-connect/certs", 200, `{"keys":[]}`},
		{"/auth/realms/core/protocol/openid-connect/certs", 200, `{"keys":[]}`},
		{"/auth/realms/nope/.well-known/openid-configuration", 404, ""},
		{"/auth/realms/Acme-Corp/protocol/openid-connect/certs", 404, ""},
		{"/auth/realms//protocol/openid-connect/certs", 404, ""},
	}
	for _, tt := range tests {
		r := f.do("GET", tt.path, "", "")
		if tt.status != 200 {
			expectError(t, r, tt.status, "")
			continue
		}
		if r.status != 200 || string(r.body) != tt.body || string(r.header.ContentType()) != "application/json" {
			t.Errorf("%s = %d %s", tt.path, r.status, r.body)
		}
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path, token, want string
	}{
		{"missing token", "GET", "/tenant/v2/tenants", "", "required"},
		{"expired token", "GET", "/tenant/v2/tenants", "bad-tok-123", "invalid or expired"},
		{"basic scheme", "GET", "/tenant/v2/tenants", "raw:Basic dXNlcjpwdw==", "invalid"},
		{"empty bearer", "GET", "/tenant/v2/tenants", "raw:Bearer ", "invalid"},
		{"invalid token on optional route", "GET", "/stream/v1/streams?tenant=demo", "bad-tok-123", "invalid"},
		{"empty bearer on optional route", "GET", "/stream/v1/streams?tenant=demo", "raw:Bearer", "invalid"},
		{"ingest without token", "POST", "/event/v1/events", "", "required"},
		{"config without token", "GET", configPath, "", "required"},
		{"patch with bad token", "PATCH", configPath, "nope", "invalid"},
		{"create tenant without token", "POST", "/tenant/v2/tenants", "", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(tt.method, tt.path, tt.token, `{}`)
			expectError(t, r, 401, tt.want)
			if !strings.HasPrefix(string(r.header.Peek("WWW-Authenticate")), "Bearer") {
				t.Fatal("no WWW-Authenticate")
			}
			if strings.Contains(string(r.body), tt.token) && tt.token != "" && !strings.HasPrefix(tt.token, "raw:") {
				t.Fatal("token echoed")
			}
		})
	}
	// "bearer" is case-insensitive.
	if r := f.do("GET", "/tenant/v2/tenants", "raw:bearer core-admin", ""); r.status != 200 {
		t.Fatalf("lower-case scheme: %d", r.status)
	}
}
