package console

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
)

const testTenant = "urn:ads:platform:tenant-service:v2:/tenants/0123456789abcdef01234567"

type fixture struct {
	t   *testing.T
	api *api.API
	iss *devissuer.Issuer
	reg *prometheus.Registry
}

// newFixture mounts the console's routes in the real REST router over a real store; tokens are
// verified by a fake: "good" is a tenant user, anything else is refused.
func newFixture(t *testing.T, withIssuer bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Validate: stream.ValidateDocument, Seed: stream.CoreStreams})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.CreateTenant("Acme Corp"); err != nil {
		t.Fatal(err)
	}
	verify := func(_ context.Context, tok string) (*auth.Principal, error) {
		if tok == "good" {
			return &auth.Principal{TenantID: testTenant}, nil
		}
		return nil, errors.New("bad token")
	}
	f := &fixture{t: t, reg: prometheus.NewRegistry()}
	d := Deps{Verify: verify, Gatherer: f.reg, PublicURL: "http://127.0.0.1:1"}
	if withIssuer {
		if f.iss, err = devissuer.Open(dir, "http://127.0.0.1:1/auth"); err != nil {
			t.Fatal(err)
		}
		d.Issuer, d.Tenants = f.iss, st
	}
	f.api = api.New(api.Deps{Store: st, Verify: verify, Extra: Routes(d), PublicURL: "http://127.0.0.1:1"})
	return f
}

type response struct {
	status int
	ctype  string
	body   []byte
	header *fasthttp.ResponseHeader
}

func (f *fixture) do(method, uri, token, ctype, body string, remote net.Addr) response {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("127.0.0.1:1") // the public URL's host: development routes check it
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.SetContentType(ctype)
	}
	req.SetBodyString(body)
	if remote == nil {
		remote = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4321}
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, remote, nil)
	f.api.Handle(&ctx)
	h := &fasthttp.ResponseHeader{}
	ctx.Response.Header.CopyTo(h)
	return response{ctx.Response.StatusCode(), string(ctx.Response.Header.ContentType()), append([]byte(nil), ctx.Response.Body()...), h}
}

func errorMessage(t *testing.T, r response) string {
	t.Helper()
	var e struct{ ErrorMessage string }
	if err := json.Unmarshal(r.body, &e); err != nil || e.ErrorMessage == "" {
		t.Fatalf("not an error body: %d %s", r.status, r.body)
	}
	return e.ErrorMessage
}

// TestRoutesAreDocumented: with and without minting, every console route is in the served
// OpenAPI document and every documented console path is a route (the mint route only with an
// issuer; without it the route answers 404).
func TestRoutesAreDocumented(t *testing.T) {
	for _, mint := range []bool{false, true} {
		f := newFixture(t, mint)
		r := f.do("GET", "/swagger/docs/v1", "", "", "", nil)
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatal(err)
		}
		routes := map[string]bool{}
		for _, rt := range f.api.Routes() {
			if strings.HasPrefix(rt.Pattern, "/console") {
				routes[strings.ToLower(rt.Method)+" "+rt.Pattern] = true
				if _, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]; !ok {
					t.Errorf("mint=%v: %s %s not documented", mint, rt.Method, rt.Pattern)
				}
			}
		}
		documented := 0
		for p, item := range doc.Paths {
			if !strings.HasPrefix(p, "/console") {
				continue
			}
			for m := range item {
				if strings.HasPrefix(m, "x-") {
					continue
				}
				documented++
				if !routes[m+" "+p] {
					t.Errorf("mint=%v: documented %s %s is not a route", mint, m, p)
				}
			}
		}
		want := 4
		if mint {
			want = 5
		}
		if documented != want || len(routes) != want {
			t.Errorf("mint=%v: %d documented, %d routes, want %d", mint, documented, len(routes), want)
		}
		if !mint {
			if r := f.do("POST", "/console/api/token", "", "application/json", `{"core":true}`, nil); r.status != 404 {
				t.Errorf("production mint: %d %s", r.status, r.body)
			}
		}
	}
}

// TestStaticFiles: the page and each embedded asset are served with their type and a
// self-only CSP; every script and stylesheet the page and the modules reference is embedded; the
// page offers minting only when the server mints.
func TestStaticFiles(t *testing.T) {
	for _, mint := range []bool{false, true} {
		f := newFixture(t, mint)
		r := f.do("GET", "/console", "", "", "", nil)
		if r.status != 200 || !strings.HasPrefix(r.ctype, "text/html") {
			t.Fatalf("GET /console: %d %s", r.status, r.ctype)
		}
		if csp := string(r.header.Peek("Content-Security-Policy")); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		want := `data-mint="off"`
		if mint {
			want = `data-mint="on"`
		}
		if !strings.Contains(string(r.body), want) {
			t.Errorf("mint=%v: page lacks %s", mint, want)
		}
	}
	f := newFixture(t, false)
	page := f.do("GET", "/console", "", "", "", nil)
	refs := regexp.MustCompile(`(?:src|href)="/console/([^"]+)"`).FindAllStringSubmatch(string(page.body), -1)
	if len(refs) < 2 {
		t.Fatalf("page references %v", refs)
	}
	files, _ := fs.ReadDir(staticFS, "static")
	for _, e := range files {
		js, _ := fs.ReadFile(staticFS, "static/"+e.Name())
		for _, m := range regexp.MustCompile(`from "\./([^"]+)"`).FindAllStringSubmatch(string(js), -1) {
			refs = append(refs, m)
		}
	}
	for _, m := range refs {
		r := f.do("GET", "/console/"+m[1], "", "", "", nil)
		if r.status != 200 {
			t.Errorf("%s: %d", m[1], r.status)
		}
		if strings.HasSuffix(m[1], ".js") && !strings.HasPrefix(r.ctype, "text/javascript") {
			t.Errorf("%s: Content-Type %q (module scripts need a JavaScript type)", m[1], r.ctype)
		}
	}
	for _, bad := range []string{"/console/nope.js", "/console/.hidden", "/console/index.html", "/console/%2e%2e%2fconsole.go"} {
		if r := f.do("GET", bad, "", "", "", nil); r.status != 404 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
}

func TestMint(t *testing.T) {
	f := newFixture(t, true)
	r := f.do("POST", "/console/api/token", "", "application/json",
		`{"tenant":"acme-corp","roles":["stream-listener","urn:ads:platform:event-service:event-sender"],"ttlSeconds":600}`, nil)
	if r.status != 200 {
		t.Fatalf("mint: %d %s", r.status, r.body)
	}
	var out mintResponse
	_ = json.Unmarshal(r.body, &out)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(out.Token, claims); err != nil {
		t.Fatal(err)
	}
	if claims["iss"] != f.iss.Issuer("acme-corp") || out.Realm != "acme-corp" || claims["name"] != "console" {
		t.Errorf("iss %v realm %s name %v", claims["iss"], out.Realm, claims["name"])
	}
	ra, _ := json.Marshal(claims["resource_access"])
	if !strings.Contains(string(ra), `"urn:ads:platform:event-service":{"roles":["event-sender"]}`) {
		t.Errorf("resource_access %s", ra)
	}
	if exp, _ := claims.GetExpirationTime(); exp == nil || exp.Unix() != out.ExpiresAt {
		t.Errorf("exp %v, expiresAt %d", exp, out.ExpiresAt)
	}
	r = f.do("POST", "/console/api/token", "", "application/json", `{"core":true}`, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"realm":"core"`) {
		t.Errorf("core: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		ctype, body string
		remote      net.Addr
		status      int
	}{
		{"application/json", `{"tenant":"nobody"}`, nil, 404},
		{"application/json", `{"tenant":"acme-corp","core":true}`, nil, 400},
		{"application/json", `{}`, nil, 400},
		{"application/json", `{"core":true,"ttlSeconds":90000}`, nil, 400},
		{"text/plain", `{"core":true}`, nil, 415},                                           // a cross-site form cannot send JSON
		{"application/json", `{"core":true}`, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3)}, 403}, // not loopback
		{"application/json", `{"core":true}`, &net.UnixAddr{Name: "api.sock", Net: "unix"}, 403},
	} {
		if r := f.do("POST", "/console/api/token", "", c.ctype, c.body, c.remote); r.status != c.status {
			t.Errorf("%s %s from %v: %d %s, want %d", c.ctype, c.body, c.remote, r.status, r.body, c.status)
		}
	}
}

const previewStream = `{"id":"orders","name":"Orders","events":[{"namespace":"shop","name":"order-placed","criteria":{"context":{"region":"west"}},"map":{"orderId":"payload.items[1].id","missing":"payload.nope"}}]}`

func TestPreview(t *testing.T) {
	f := newFixture(t, false)
	event := func(region string) string {
		return `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-02T03:04:05.678Z","context":{"region":"` + region + `"},"payload":{"items":[{"id":1},{"id":"b"}]}}`
	}
	r := f.do("POST", "/console/api/preview", "good", "application/json", `{"stream":`+previewStream+`,"event":`+event("west")+`}`, nil)
	want := `{"matched":true,"item":{"tenantId":"` + testTenant + `","namespace":"shop","name":"order-placed","context":{"region":"west"},"orderId":"b"}}`
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("preview: %d\n got %s\nwant %s", r.status, r.body, want)
	}
	r = f.do("POST", "/console/api/preview", "good", "application/json", `{"stream":`+previewStream+`,"event":`+event("east")+`}`, nil)
	if r.status != 200 || string(r.body) != `{"matched":false}` {
		t.Errorf("criteria not met: %d %s", r.status, r.body)
	}
	bad := strings.Replace(previewStream, `"payload.nope"`, `7`, 1)
	r = f.do("POST", "/console/api/preview", "good", "application/json", `{"stream":`+bad+`,"event":`+event("west")+`}`, nil)
	if msg := errorMessage(t, r); r.status != 400 || msg != `stream "orders": events[0]: map.missing: must be a string path` {
		t.Errorf("invalid map: %d %q", r.status, msg)
	}
	r = f.do("POST", "/console/api/preview", "good", "application/json", `{"stream":`+previewStream+`,"event":{"namespace":"shop"}}`, nil)
	if msg := errorMessage(t, r); r.status != 400 || !strings.HasPrefix(msg, "event: ") {
		t.Errorf("invalid event: %d %q", r.status, msg)
	}
	for _, tok := range []string{"", "forged"} {
		if r := f.do("POST", "/console/api/preview", tok, "application/json", `{}`, nil); r.status != 401 {
			t.Errorf("token %q: %d", tok, r.status)
		}
	}
}

// TestStatus: the route reads the gatherer /metrics serves and sums labelled series (the
// --workers parent labels each process's series).
func TestStatus(t *testing.T) {
	f := newFixture(t, false)
	g := func(name string, v float64, labels prometheus.Labels) {
		f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: name, ConstLabels: labels}, func() float64 { return v }))
	}
	c := func(name string, v float64) {
		f.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: name}, func() float64 { return v }))
	}
	g("pushgate_connections", 3, prometheus.Labels{"worker": "0"})
	g("pushgate_connections", 4, prometheus.Labels{"worker": "1"})
	g("pushgate_subscriptions", 2, nil)
	c("pushgate_deliveries_total", 17)
	c("pushgate_slow_consumer_closes_total", 1)
	r := f.do("GET", "/console/api/status", "", "", "", nil)
	var s status
	if err := json.Unmarshal(r.body, &s); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if s.Connections != 7 || s.Subscriptions != 2 || s.Deliveries != 17 || s.SlowConsumerCloses != 1 || s.Time == 0 {
		t.Errorf("status %+v", s)
	}
}
