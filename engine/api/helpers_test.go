package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
)

const publicURL = "https://push.example"

// fixture is an API over a real store (in t.TempDir) and the real stream package, with a fake
// token verifier: tokens are keys of principals.
type fixture struct {
	t          *testing.T
	api        *API
	st         *store.Store
	acme, beta store.Tenant
	principals map[string]*auth.Principal
	pub        *recordingPublisher
}

type recordingPublisher struct {
	mu        sync.Mutex
	events    []*source.Event
	forgotten []string // tenant "|" key of ForgetKey calls
	err       error
	// refuseAfter, when > 0, makes Publish return ErrOverloaded once that many events are held.
	refuseAfter int
}

func (p *recordingPublisher) Publish(ev *source.Event) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return "", p.err
	}
	if p.refuseAfter > 0 && len(p.events) >= p.refuseAfter {
		return "", source.ErrOverloaded
	}
	p.events = append(p.events, ev)
	ev.ID = "1700000000-" + strconv.Itoa(len(p.events))
	return ev.ID, nil
}

func (p *recordingPublisher) ForgetKey(tenantURN, key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgotten = append(p.forgotten, tenantURN+"|"+key)
}

func (p *recordingPublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

func (p *recordingPublisher) holds(ev *source.Event) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.events, ev)
}

func (p *recordingPublisher) last() *source.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.events) == 0 {
		return nil
	}
	return p.events[len(p.events)-1]
}

var errExpired = errors.New("token is expired")

type fakeIssuer struct{}

func (fakeIssuer) DiscoveryJSON(realm string) []byte {
	return []byte(`{"issuer":"https://push.example/auth/realms/` + realm + `"}`)
}
func (fakeIssuer) JWKSJSON() []byte { return []byte(`{"keys":[]}`) }

func newFixture(t *testing.T, mutate ...func(*Deps)) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Validate: stream.ValidateDocument, Seed: stream.CoreStreams})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{t: t, st: st, pub: &recordingPublisher{}}
	if f.acme, err = st.CreateTenant("Acme Corp"); err != nil {
		t.Fatal(err)
	}
	if f.beta, err = st.CreateTenant("Beta"); err != nil {
		t.Fatal(err)
	}
	f.principals = map[string]*auth.Principal{
		"core-admin": {Subject: "c1", Core: true, Roles: []string{RolePlatformService, RoleConfigAdmin, RoleEventSender, auth.RoleStreamListener}},
		"core-none":  {Subject: "c2", Core: true},
		"acme-admin": {Subject: "a1", TenantID: f.acme.ID, Roles: []string{RoleConfigAdmin, RoleEventSender, auth.RoleStreamListener, RolePlatformService}},
		"acme-svc":   {Subject: "a2", TenantID: f.acme.ID, Roles: []string{RoleConfiguredService}},
		"acme-read":  {Subject: "a3", TenantID: f.acme.ID, Roles: []string{RoleConfigReader}},
		"acme-user":  {Subject: "a4", TenantID: f.acme.ID},
		"beta-admin": {Subject: "b1", TenantID: f.beta.ID, Roles: []string{RoleConfigAdmin, RoleEventSender, auth.RoleStreamListener}},
	}
	d := Deps{
		Store: st,
		Verify: func(_ context.Context, token string) (*auth.Principal, error) {
			if p, ok := f.principals[token]; ok {
				return p, nil
			}
			return nil, errExpired
		},
		Registry: func() *stream.Registry {
			core, tenants := st.AllConfigs()
			reg, _ := stream.Build(core, tenants)
			return reg
		},
		Publisher: f.pub,
		PublicURL: publicURL + "/",
	}
	for _, m := range mutate {
		m(&d)
	}
	f.api = New(d)
	return f
}

type response struct {
	status int
	header *fasthttp.ResponseHeader
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do runs one request; token "" sends no Authorization header, a token starting with "raw:" sends
// the rest as the header value.
func (f *fixture) do(method, uri, token, body string) response {
	f.t.Helper()
	return serve(f.api, method, uri, token, body)
}

func serve(a *API, method, uri, token, body string) response {
	return serveType(a, method, uri, token, "application/json", body)
}

// serveWithHeader is serve with extra request headers (name, value pairs).
func serveWithHeader(a *API, method, uri, token, body string, header ...string) response {
	return serveType(a, method, uri, token, "application/json", body, header...)
}

// serveType is serve with the body's Content-Type and extra request headers (name, value pairs).
func serveType(a *API, method, uri, token, contentType, body string, header ...string) response {
	var req fasthttp.Request
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("internal.test:8080")
	if raw, ok := strings.CutPrefix(token, "raw:"); ok {
		req.Header.Set("Authorization", raw)
	} else if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.SetContentType(contentType)
		req.SetBodyString(body)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, nil)
	a.Handle(&ctx)
	var h fasthttp.ResponseHeader
	ctx.Response.Header.CopyTo(&h)
	return response{status: ctx.Response.StatusCode(), header: &h, body: append([]byte(nil), ctx.Response.Body()...)}
}

// expectError checks an ADSP error answer.
func expectError(t *testing.T, r response, status int, contains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := string(r.header.ContentType()); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	msg, _ := r.json(t)["errorMessage"].(string)
	if msg == "" || !strings.Contains(msg, contains) {
		t.Fatalf("errorMessage = %q, want it to contain %q", msg, contains)
	}
}
