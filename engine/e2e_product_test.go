package engine_test

// End-to-end tests of the product features against the in-process server (engine.New + Run on a
// loopback port), at the protocol level: SSE through net/http + protocol/sse.Parser, Socket.IO
// through a raw gobwas/ws WebSocket client + the protocol/engineio and protocol/socketio codecs,
// tokens from devissuer.Load(dataDir).Mint (and forged ones signed here).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/protocol/socketio"
)

// The README quick start at the protocol level: PATCH (README body), SSE and Socket.IO subscribers,
// publish (README body), both receive {tenantId, namespace, name, orderId}.
func TestE2EQuickStart(t *testing.T) {
	e := e2eStart(t, nil)
	e.patch(e.demo, "", `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed","map":{"orderId":"payload.id"}}]}}}`)
	e.waitListed(e.demo, "demo", "orders", true)
	s := e.mustSSE("/stream/v1/streams/orders", e.demo)
	select {
	case chunk := <-s.raw:
		if !strings.HasPrefix(chunk, "retry: 3000\n\n") {
			t.Errorf("first SSE bytes %q, want retry: 3000", chunk)
		}
	case <-time.After(e2eWait):
		t.Fatal("no retry field")
	}
	c := e.subscribeSIO("/demo", e2eQ("stream", "orders"), map[string]any{"token": e.demo})
	st, b := e.do("POST", "/event/v1/events", e.demo, `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"id":42}}`, nil)
	if st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	var acc struct{ ID string }
	_ = json.Unmarshal(b, &acc)
	want := fmt.Sprintf(`{"tenantId":%q,"namespace":"shop","name":"order-placed","orderId":42}`, e.demoID)
	ev := s.next(t)
	if ev.ID != acc.ID || ev.Type != "" || ev.Data != want {
		t.Errorf("SSE = %+v, want id %s data %s", ev, acc.ID, want)
	}
	name, arg := c.event()
	if name != "shop:order-placed" || arg != want {
		t.Errorf("Socket.IO = %s %s, want shop:order-placed %s", name, arg, want)
	}
}

// A server configured with Listen "127.0.0.1:0" and no PublicURL must still accept the tokens of
// its own development issuer (the issuer base must name the bound port).
func TestE2EPortZeroDevIssuer(t *testing.T) {
	dir := t.TempDir()
	srv, err := engine.New(engine.Config{Listen: "127.0.0.1:0", DataDir: dir, Logger: e2eQuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	iss, err := devissuer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(iss.IssuerBase(), ":0/auth") {
		t.Errorf("development issuer base is %q: it names port 0, not the bound port %s (its tokens cannot be verified: the JWKS is fetched from port 0)", iss.IssuerBase(), srv.Addr())
	}
	tok, _ := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener"}})
	req, _ := http.NewRequest("GET", srv.URL()+"/stream/v1/streams", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /stream/v1/streams with a development token on a port-0 server: %d %s, want 200", resp.StatusCode, b)
	}
}

func TestE2EProjectionAndCriteria(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "proj", `{"id":"proj","name":"P","events":[
		{"namespace":"p","name":"mapped","map":{"jobId":"payload.job.id","sku":"payload.items[1].sku","at":"timestamp","gone":"payload.nope"}},
		{"namespace":"p","name":"whole"},
		{"namespace":"p","name":"empty","map":{}},
		{"namespace":"p","name":"crit","criteria":{"context":{"region":"west","n":1}}}]}`)
	s := e.mustSSE("/stream/v1/streams/proj", e.demo)
	sc := e.mustSSE("/stream/v1/streams/proj?criteria="+url.QueryEscape(`{"context":{"k":"a"}}`), e.demo)
	c := e.subscribeSIO("/demo", e2eQ("stream", "proj"), map[string]any{"token": e.demo})
	cc := e.subscribeSIO("/demo", e2eQ("stream", "proj", "criteria", `{"context":{"k":"z"}}`), map[string]any{"token": e.demo, "criteria": map[string]any{"context": map[string]any{"k": "a"}}})
	ev := `"timestamp":"2026-03-04T05:06:07Z","correlationId":"c1","context":{"k":"a","n":1},"payload":{"job":{"id":"j1"},"items":[{"sku":"a"},{"sku":"b"}]}`
	e.do("POST", "/event/v1/events", e.demo, `{"namespace":"p","name":"mapped",`+ev+`}`, nil)
	e.do("POST", "/event/v1/events", e.demo, `{"namespace":"p","name":"whole",`+ev+`}`, nil)
	e.do("POST", "/event/v1/events", e.demo, `{"namespace":"p","name":"empty",`+ev+`}`, nil)
	e.publish(e.demo, "p", "crit", `"context":{"region":"east","n":1,"k":"a"},"payload":{"seq":1}`)
	e.publish(e.demo, "p", "crit", `"context":{"region":"west","n":"1","k":"a"},"payload":{"seq":2}`)
	e.publish(e.demo, "p", "crit", `"context":{"region":"west","n":1,"k":"b"},"payload":{"seq":3}`)
	e.publish(e.demo, "p", "crit", `"context":{"region":"west","n":1,"x":true,"k":"a"},"payload":{"seq":4}`)
	whole := func(name string) string {
		return fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":%q,"timestamp":"2026-03-04T05:06:07.000Z","correlationId":"c1","context":{"k":"a","n":1},"payload":{"job":{"id":"j1"},"items":[{"sku":"a"},{"sku":"b"}]}}`, e.demoID, name)
	}
	want := []string{
		fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":"mapped","correlationId":"c1","context":{"k":"a","n":1},"jobId":"j1","sku":"b","at":"2026-03-04T05:06:07.000Z"}`, e.demoID),
		whole("whole"), whole("empty"),
		fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":"crit","timestamp":"2026-01-01T00:00:00.000Z","context":{"region":"west","n":1,"k":"b"},"payload":{"seq":3}}`, e.demoID),
		fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":"crit","timestamp":"2026-01-01T00:00:00.000Z","context":{"region":"west","n":1,"x":true,"k":"a"},"payload":{"seq":4}}`, e.demoID),
	}
	names := []string{"p:mapped", "p:whole", "p:empty", "p:crit", "p:crit"}
	for i, w := range want {
		got := s.next(t)
		e2eJSONEq(t, fmt.Sprintf("SSE item %d", i), got.Data, w)
		n, arg := c.event()
		if n != names[i] {
			t.Errorf("Socket.IO event %d name %s, want %s", i, n, names[i])
		}
		e2eJSONEq(t, fmt.Sprintf("Socket.IO item %d", i), arg, w)
	}
	// subscriber criteria {"context":{"k":"a"}} (SSE query; Socket.IO auth.criteria wins over the query)
	for i, w := range []string{want[0], want[1], want[2], want[4]} {
		e2eJSONEq(t, fmt.Sprintf("SSE criteria item %d", i), sc.next(t).Data, w)
		_, arg := cc.event()
		e2eJSONEq(t, fmt.Sprintf("Socket.IO criteria item %d", i), arg, w)
	}
	// bad criteria
	if m, code := e.connectErr("/demo", e2eQ("stream", "proj", "criteria", "{bad"), nil, map[string]any{"token": e.demo}); code != "bad_request" {
		t.Errorf("bad criteria: %s %s", m, code)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/proj?criteria=%7Bbad", map[string]string{"Authorization": "Bearer " + e.demo}); st != 400 {
		t.Errorf("SSE bad criteria: %d", st)
	}
}

// Every token failure kind is rejected on Socket.IO CONNECT (auth.token, header, query; tenant
// namespace and "/") and on SSE (header, query), never as anonymous, even on a public stream.
func TestE2ETokenFailures(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "pub", `{"id":"pub","name":"Pub","publicSubscribe":true,"events":[{"namespace":"tf","name":"e"}]}`)
	valid, bad := e.badTokens()
	e.subscribeSIO("/demo", e2eQ("stream", "pub"), map[string]any{"token": valid}).close()
	e.mustSSE("/stream/v1/streams/pub?tenant=demo", valid).close()
	for kind, tok := range bad {
		for _, nsp := range []string{"/demo", "/"} {
			for via, try := range map[string]func() (string, string){
				"auth.token": func() (string, string) {
					return e.connectErr(nsp, e2eQ("stream", "pub"), nil, map[string]any{"token": tok})
				},
				"header": func() (string, string) {
					return e.connectErr(nsp, e2eQ("stream", "pub"), http.Header{"Authorization": {"Bearer " + tok}}, nil)
				},
				"query": func() (string, string) { return e.connectErr(nsp, e2eQ("stream", "pub", "token", tok), nil, nil) },
			} {
				if msg, code := try(); msg != e2eUnauth || code != "unauthorized" {
					t.Errorf("%s via %s on %s: CONNECT_ERROR %q %q", kind, via, nsp, msg, code)
				}
			}
		}
		for via, req := range map[string]struct {
			path string
			hdr  map[string]string
		}{
			"header": {"/stream/v1/streams/pub?tenant=demo", map[string]string{"Authorization": "Bearer " + tok}},
			"query":  {"/stream/v1/streams/pub?tenant=demo&token=" + url.QueryEscape(tok), nil},
		} {
			c, st, body := e.openSSE(req.path, req.hdr)
			if c != nil {
				c.close()
			}
			if st != 401 || string(body) != `{"errorMessage":"User not authorized to connect."}` {
				t.Errorf("%s via SSE %s: %d %s", kind, via, st, body)
			}
		}
		// REST routes reject it too
		if st, body := e.do("GET", "/stream/v1/streams?tenant=demo", tok, "", nil); st != 401 {
			t.Errorf("%s on GET /stream/v1/streams: %d %s", kind, st, body)
		}
	}
	// anonymous on "/" is refused; on a tenant namespace public works
	if msg, code := e.connectErr("/", e2eQ("stream", "pub"), nil, nil); code != "unauthorized" {
		t.Errorf("anonymous on /: %s %s", msg, code)
	}
	c := e.subscribeSIO("/demo", e2eQ("stream", "pub"), nil)
	s := e.mustSSE("/stream/v1/streams/pub?tenant=demo", "")
	e.publish(e.demo, "tf", "e", "")
	if n, _ := c.event(); n != "tf:e" {
		t.Errorf("anonymous Socket.IO got %s", n)
	}
	s.next(t)
}

// Token precedence on Socket.IO: auth.token, then Authorization, then the token query; the first
// present decides.
func TestE2ETokenPrecedence(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "prec", `{"id":"prec","name":"P","events":[{"namespace":"pr","name":"e"}]}`)
	good, badH := http.Header{"Authorization": {"Bearer " + e.demo}}, http.Header{"Authorization": {"Bearer bad"}}
	cases := []struct {
		what string
		q    url.Values
		hdr  http.Header
		auth any
		ok   bool
	}{
		{"auth good, header bad, query bad", e2eQ("stream", "prec", "token", "bad"), badH, map[string]any{"token": e.demo}, true},
		{"auth bad, header good", e2eQ("stream", "prec"), good, map[string]any{"token": "bad"}, false},
		{"header good, query bad", e2eQ("stream", "prec", "token", "bad"), good, nil, true},
		{"header bad, query good", e2eQ("stream", "prec", "token", e.demo), badH, nil, false},
		{"query good", e2eQ("stream", "prec", "token", e.demo), nil, nil, true},
		{"auth.stream wins over the query stream", e2eQ("stream", "nope"), nil, map[string]any{"token": e.demo, "stream": "prec"}, true},
	}
	for _, tc := range cases {
		c := e.dialSIO(tc.q, tc.hdr)
		p := c.connect("/demo", tc.auth)
		if (p.Type == socketio.Connect) != tc.ok {
			t.Errorf("%s: got %v %s", tc.what, p.Type, p.Data)
		}
		c.close()
	}
	// SSE: header wins over query
	if c, st, body := e.openSSE("/stream/v1/streams/prec?token=bad", map[string]string{"Authorization": "Bearer " + e.demo}); c == nil {
		t.Errorf("SSE header good + query bad: %d %s", st, body)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/prec?token="+e.demo, map[string]string{"Authorization": "Bearer bad"}); st != 401 {
		t.Errorf("SSE header bad + query good: %d", st)
	}
}

// Tenant isolation on both transports and cross-tenant probes on every REST route.
func TestE2ETenantIsolation(t *testing.T) {
	e := e2eStart(t, nil)
	streamJSON := `{"id":"iso","name":"I","events":[{"namespace":"iso","name":"e"}]}`
	e.stream(e.demo, "demo", "iso", streamJSON)
	e.stream(e.acme, "acme-corp", "iso", streamJSON)
	e.stream(e.acme, "acme-corp", "acme-pub", `{"id":"acme-pub","name":"AP","publicSubscribe":true,"events":[{"namespace":"iso","name":"e"}]}`)
	hex := strings.TrimPrefix(e.acmeID, "urn:ads:platform:tenant-service:v2:/tenants/")

	dS := e.mustSSE("/stream/v1/streams/iso", e.demo)
	aS := e.mustSSE("/stream/v1/streams/iso?tenant="+hex, e.acme)
	dC := e.subscribeSIO("/demo", e2eQ("stream", "iso"), map[string]any{"token": e.demo})
	aC := e.subscribeSIO("/acme-corp", e2eQ("stream", "iso"), map[string]any{"token": e.acme})
	dRoot := e.subscribeSIO("/", e2eQ("stream", "iso"), map[string]any{"token": e.demo})

	// demo token against acme
	if _, code := e.connectErr("/acme-corp", e2eQ("stream", "iso"), nil, map[string]any{"token": e.demo}); code != "forbidden" {
		t.Errorf("demo token on /acme-corp private stream: %s", code)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/iso?tenant=acme-corp", map[string]string{"Authorization": "Bearer " + e.demo}); st != 403 {
		t.Errorf("demo token SSE tenant=acme-corp: %d", st)
	}
	for _, ref := range []string{"acme-corp", "Acme%20Corp", hex, url.QueryEscape(e.acmeID)} {
		if st, body := e.do("GET", e2eConfigPath+"?tenantId="+ref, e.demo, "", nil); st != 403 {
			t.Errorf("demo GET acme config (%s): %d %s", ref, st, body)
		}
		if st, body := e.do("GET", e2eConfigPath+"/latest?tenantId="+ref, e.demo, "", nil); st != 403 {
			t.Errorf("demo GET acme latest config (%s): %d %s", ref, st, body)
		}
		if st, body := e.do("PATCH", e2eConfigPath+"?tenantId="+ref, e.demo, `{"operation":"DELETE","property":"iso"}`, nil); st != 403 {
			t.Errorf("demo PATCH acme config (%s): %d %s", ref, st, body)
		}
	}
	if st, body := e.do("POST", "/event/v1/events", e.demo, fmt.Sprintf(`{"namespace":"iso","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{},"tenantId":%q}`, e.acmeID), nil); st != 403 {
		t.Errorf("demo ingest with acme tenantId: %d %s", st, body)
	}
	if st, body := e.do("POST", "/event/v1/events", e.demo, `{"namespace":"iso","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{},"tenantId":"acme-corp"}`, nil); st != 403 {
		t.Errorf("demo ingest with acme slug: %d %s", st, body)
	}
	st, body := e.do("GET", "/stream/v1/streams?tenant=acme-corp", e.demo, "", nil)
	var list map[string]json.RawMessage
	_ = json.Unmarshal(body, &list)
	if st != 200 || list["iso"] != nil || list["acme-pub"] == nil {
		t.Errorf("demo lists acme streams: %d %s (want only public streams)", st, body)
	}
	for id := range list {
		var s struct{ PublicSubscribe bool }
		_ = json.Unmarshal(list[id], &s)
		if !s.PublicSubscribe {
			t.Errorf("demo sees acme's non-public stream %s", id)
		}
	}
	st, body = e.do("GET", "/tenant/v2/tenants", e.demo, "", nil)
	if st != 200 || strings.Contains(string(body), e.acmeID) {
		t.Errorf("demo lists tenants: %d %s", st, body)
	}
	if st, body := e.do("POST", "/tenant/v2/tenants", e.demo, `{"name":"Evil"}`, nil); st != 403 {
		t.Errorf("tenant user creates tenant: %d %s", st, body)
	}
	// acme's document is untouched
	if st, body := e.do("GET", e2eConfigPath+"/latest", e.acme, "", nil); st != 200 || !strings.Contains(string(body), `"iso"`) {
		t.Errorf("acme config after probes: %d %s", st, body)
	}

	for i := 0; i < 3; i++ {
		e.publish(e.demo, "iso", "e", fmt.Sprintf(`"payload":{"from":"demo","i":%d}`, i))
		e.publish(e.acme, "iso", "e", fmt.Sprintf(`"payload":{"from":"acme","i":%d}`, i))
	}
	e.publish(e.demo, "iso", "e", `"payload":{"from":"end","i":3}`)
	e.publish(e.acme, "iso", "e", `"payload":{"from":"end","i":3}`)
	check := func(what, tenant, from string, next func() string) {
		for i := 0; i < 4; i++ {
			var item struct {
				TenantID string
				Payload  struct {
					From string
					I    int
				}
			}
			_ = json.Unmarshal([]byte(next()), &item)
			f := from
			if i == 3 {
				f = "end"
			}
			if item.TenantID != tenant || item.Payload.From != f || item.Payload.I != i {
				t.Errorf("%s item %d: %+v", what, i, item)
			}
		}
	}
	sseNext := func(c *e2eSSE) func() string { return func() string { return c.next(t).Data } }
	sioNext := func(c *e2eSIO) func() string { return func() string { _, a := c.event(); return a } }
	check("demo SSE", e.demoID, "demo", sseNext(dS))
	check("acme SSE", e.acmeID, "acme", sseNext(aS))
	check("demo Socket.IO", e.demoID, "demo", sioNext(dC))
	check("acme Socket.IO", e.acmeID, "acme", sioNext(aC))
	check("demo Socket.IO on /", e.demoID, "demo", sioNext(dRoot))

	// tenant references: slug, name, bare id; wrong id = Invalid namespace; unknown tenant SSE 404
	for _, nsp := range []string{"/acme-corp", "/Acme Corp", "/" + hex} {
		e.subscribeSIO(nsp, e2eQ("stream", "iso"), map[string]any{"token": e.acme}).close()
	}
	wrong := "0" + hex[1:]
	if wrong == hex {
		wrong = "1" + hex[1:]
	}
	if msg, _ := e.connectErr("/"+wrong, e2eQ("stream", "iso"), nil, map[string]any{"token": e.acme}); msg != "Invalid namespace" {
		t.Errorf("wrong bare id namespace: %q", msg)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/iso?tenant="+wrong, map[string]string{"Authorization": "Bearer " + e.acme}); st != 404 {
		t.Errorf("SSE unknown tenant: %d", st)
	}
}

// A core token on "/" receives a core stream's events from every tenant.
func TestE2ECoreCrossTenant(t *testing.T) {
	e := e2eStart(t, nil)
	e.patch(e.core, "", `{"operation":"UPDATE","update":{"xt":{"id":"xt","name":"X","subscriberRoles":[],"events":[{"namespace":"xt","name":"e"}]}}}`)
	e.waitListed(e.core, "demo", "xt", true)
	c := e.subscribeSIO("/", e2eQ("stream", "xt"), map[string]any{"token": e.core})
	s := e.mustSSE("/stream/v1/streams/xt", e.core) // SSE without tenant: cross-tenant for core users
	e.publish(e.demo, "xt", "e", `"payload":{"n":1}`)
	e.publish(e.acme, "xt", "e", `"payload":{"n":2}`)
	e.publish(e.core, "xt", "e", fmt.Sprintf(`"tenantId":%q,"payload":{"n":3}`, e.acmeID))
	for i, want := range []string{e.demoID, e.acmeID, e.acmeID} {
		_, a := c.event()
		ev := s.next(t)
		for what, got := range map[string]string{"Socket.IO": a, "SSE": ev.Data} {
			var item struct {
				TenantID string
				Payload  struct{ N int }
			}
			_ = json.Unmarshal([]byte(got), &item)
			if item.TenantID != want || item.Payload.N != i+1 {
				t.Errorf("%s cross-tenant item %d: %s", what, i, got)
			}
		}
	}
	// a core token without a listener role may not; a tenant token on "/" gets only its tenant
	noRole := e.mint("core", "urn:ads:platform:configuration-service:configuration-admin", "", time.Hour)
	if _, code := e.connectErr("/", e2eQ("stream", "xt"), nil, map[string]any{"token": noRole}); code != "forbidden" {
		t.Errorf("core without role: %s", code)
	}
}
