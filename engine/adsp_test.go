package engine_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/adsp/adsptest"
	"github.com/pushgate/pushgate/engine/configsvc"
	"github.com/pushgate/pushgate/protocol/socketio"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// adspStream is a stream document entry for case-service:case-updated events.
func adspStream(id string) string {
	return `"` + id + `":{"id":"` + id + `","name":"` + id + `","subscriberRoles":[],"events":[{"namespace":"case-service","name":"case-updated"}]}`
}

// ADSP platform mode against stand-ins of the platform's services (engine/adsp/adsptest): the
// directory names the tenant, configuration and event services; the tenant has a UUID realm
// (not the slug of its name) and its user's token subscribes by SSE and Socket.IO; a
// configuration-updated event makes a document change live within a second; webhook-triggered
// reaches the event service with the service token (and, on the embedded bus, the local streams);
// one client-credentials token serves every call.
func TestADSPPlatformMode(t *testing.T) {
	pf := adsptest.Start(t)
	tn := pf.AddTenant("Child Services")
	var hookCalls atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookCalls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)
	hooks := `"webhooks":{"hook":{"id":"hook","name":"Hook","url":"` + recv.URL + `","events":[{"namespace":"case-service","name":"case-updated"}]}}`
	hooksStream := `"hooks":{"id":"hooks","name":"Hooks","subscriberRoles":[],"events":[{"namespace":"push-service","name":"webhook-triggered"}]}`
	pf.SetDocument(tn.ID, `{`+adspStream("updates")+`,`+hooksStream+`,`+hooks+`}`)

	cfg := engine.Config{
		OIDCBase: pf.OIDCBase(), Logger: e2eQuietLogger(), DrainTimeout: -1,
		ADSP: adsp.Settings{DirectoryURL: pf.URL(), ClientID: adsptest.ClientID, ClientSecret: adsptest.ClientSecret},
	}
	cfg.Webhooks.Guard.AllowLoopback = true // the receiver is on loopback
	srv := startPlain(t, cfg)
	env := &e2eEnv{t: t, srv: srv, url: srv.URL(), addr: strings.TrimPrefix(srv.URL(), "http://")}

	// The tenant service's tenant resolves by slug, name, bare id and URN; the local store's
	// "demo" tenant is not listed (the tenant service owns the tenants).
	for _, ref := range []string{"child-services", "Child Services", tn.ID, strings.TrimPrefix(tn.ID, "urn:ads:platform:tenant-service:v2:/tenants/")} {
		if got, ok := srv.Store.ResolveTenant(ref); !ok || got.ID != tn.ID || got.Realm != tn.Realm {
			t.Fatalf("ResolveTenant(%q) = %+v %v, want %s (realm %s)", ref, got, ok, tn.ID, tn.Realm)
		}
	}
	if _, ok := srv.Store.ResolveTenant("demo"); ok {
		t.Fatal("the local demo tenant is still resolved beside the tenant service")
	}
	waitfor.True(t, 10*time.Second, "the condition", func() bool { _, ok := srv.Hub.Registry().Lookup(tn.ID, "updates"); return ok })

	// The tenant API lists the tenant service's tenants and creates none of its own.
	core := pf.Token(t, "core", "ops", map[string][]string{"urn:ads:platform:tenant-service": {"platform-service"}}, nil)
	if st, body := env.do("GET", "/tenant/v2/tenants", core, "", nil); st != 200 || !strings.Contains(string(body), `"realm":"`+tn.Realm+`"`) {
		t.Fatalf("GET tenants: %d %s", st, body)
	}
	if st, body := env.do("POST", "/tenant/v2/tenants", core, `{"name":"Local"}`, nil); st != http.StatusConflict || !strings.Contains(string(body), "tenant service") {
		t.Fatalf("POST tenants: %d %s, want 409 naming the tenant service", st, body)
	}

	user := pf.UserToken(t, tn.Realm, "user-1", []string{"stream-listener"}, nil)
	sse := env.mustSSE("/stream/v1/streams/updates?tenant=child-services", user)
	hookEvents := env.mustSSE("/stream/v1/streams/hooks?tenant=child-services", user)
	sio := env.subscribeSIO("/child-services", url.Values{"stream": {"updates"}}, map[string]any{"token": user})
	defer sio.close()

	// A token of a realm the tenant service does not know is refused, not downgraded.
	stranger := pf.UserToken(t, "5c7e6a3e-0000-4000-8000-000000000000", "x", []string{"stream-listener"}, nil)
	if c, st, _ := env.openSSE("/stream/v1/streams/updates?tenant=child-services", map[string]string{"Authorization": "Bearer " + stranger}); c != nil || st != http.StatusUnauthorized {
		t.Fatalf("token of an unknown realm: status %d, want 401", st)
	}

	publish(t, srv, tn.ID, `{"namespace":"case-service","name":"case-updated","timestamp":"2026-01-01T00:00:00Z","payload":{"case":"c-1"}}`)
	if ev := sse.next(t); !strings.Contains(ev.Data, `"case":"c-1"`) || !strings.Contains(ev.Data, tn.ID) {
		t.Fatalf("SSE event %q", ev.Data)
	}
	if _, arg := sio.event(); !strings.Contains(arg, `"case":"c-1"`) {
		t.Fatalf("Socket.IO event %q", arg)
	}

	// webhook-triggered reaches the event service, sent with the service account's token.
	waitfor.True(t, 10*time.Second, "the condition", func() bool {
		for _, ev := range pf.Events() {
			if ev.Body["namespace"] == "push-service" && ev.Body["name"] == "webhook-triggered" && ev.Body["tenantId"] == tn.ID &&
				strings.HasPrefix(ev.Authorization, "Bearer svc-") {
				return true
			}
		}
		return false
	})
	if hookCalls.Load() == 0 {
		t.Fatal("the webhook was not delivered")
	}
	// ... and, on the embedded bus, pushgate's own streams as before.
	if ev := hookEvents.next(t); !strings.Contains(ev.Data, `"name":"webhook-triggered"`) {
		t.Fatalf("local webhook-triggered %q", ev.Data)
	}
	waitfor.True(t, 10*time.Second, "the condition", func() bool {
		resp, err := http.Get(srv.URL() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `pushgate_adsp_events_total{outcome="sent"} 1`) && strings.Contains(string(b), "pushgate_adsp_tenants 1")
	})

	// A configuration change is live within a second of the configuration-updated event.
	pf.SetDocument(tn.ID, `{`+adspStream("updates")+`,`+adspStream("later")+`,`+hooksStream+`,`+hooks+`}`)
	start := time.Now()
	publish(t, srv, tn.ID, `{"namespace":"configuration-service","name":"configuration-updated","timestamp":"2026-01-01T00:00:00Z",`+
		`"context":{"namespace":"platform","name":"push-service"},"payload":{"namespace":"platform","name":"push-service","revision":1}}`)
	waitfor.True(t, time.Second, `stream "later" in the registry`, func() bool { _, ok := srv.Hub.Registry().Lookup(tn.ID, "later"); return ok })
	t.Logf("configuration change live %v after configuration-updated", time.Since(start).Round(time.Millisecond))

	// A tenant-created event makes the tenant list be read again.
	added := pf.AddTenant("Later Tenant")
	publish(t, srv, added.ID, `{"namespace":"tenant-service","name":"tenant-created","timestamp":"2026-01-01T00:00:00Z","payload":{"tenant":{}}}`)
	waitfor.True(t, 10*time.Second, "the condition", func() bool {
		for _, x := range srv.Store.Tenants() {
			if x.ID == added.ID {
				return true
			}
		}
		return false
	})

	if n := pf.TokenRequests(); n != 1 {
		t.Fatalf("client-credentials requests: %d, want 1 (one token for every ADSP call)", n)
	}
}

// --allowed-origins reflect (production mode): any origin may read answers and open WebSockets,
// without credentials (no Access-Control-Allow-Credentials), as ADSP reflects any origin.
func TestReflectOriginsInProduction(t *testing.T) {
	pf := adsptest.Start(t)
	tn := pf.AddTenant("Child Services")
	pf.SetDocument(tn.ID, `{`+adspStream("updates")+`}`)
	srv := startPlain(t, engine.Config{OIDCBase: pf.OIDCBase(), ReflectOrigins: true, Logger: e2eQuietLogger(), DrainTimeout: -1,
		ADSP: adsp.Settings{DirectoryURL: pf.URL(), ClientID: adsptest.ClientID, ClientSecret: adsptest.ClientSecret}})
	env := &e2eEnv{t: t, srv: srv, url: srv.URL(), addr: strings.TrimPrefix(srv.URL(), "http://")}
	waitfor.True(t, 10*time.Second, "the condition", func() bool { _, ok := srv.Hub.Registry().Lookup(tn.ID, "updates"); return ok })
	const origin = "https://app.tenant.example"

	req, _ := http.NewRequest(http.MethodOptions, srv.URL()+"/stream/v1/streams/updates?tenant=child-services", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != origin || resp.Header.Get("Access-Control-Allow-Credentials") != "" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "authorization" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	user := pf.UserToken(t, tn.Realm, "user-1", []string{"stream-listener"}, nil)
	sse, st, body := env.openSSE("/stream/v1/streams/updates?tenant=child-services", map[string]string{"Authorization": "Bearer " + user, "Origin": origin})
	if sse == nil {
		t.Fatalf("SSE from another origin: %d %s", st, body)
	}
	if sse.resp.Header.Get("Access-Control-Allow-Origin") != origin || sse.resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("SSE CORS headers %v", sse.resp.Header)
	}
	c := env.dialSIO(url.Values{"stream": {"updates"}}, http.Header{"Origin": {origin}})
	defer c.close()
	if p := c.connect("/child-services", map[string]any{"token": user}); p.Type != socketio.Connect {
		t.Fatalf("Socket.IO from another origin: %v %s", p.Type, p.Data)
	}
}

// Without a directory, each service by its own flag: --tenant-service-url (a service root),
// --event-service-url (an API URL) and --configuration-service-url; the service account signs
// the configuration service's requests too.
func TestADSPPerServiceURLs(t *testing.T) {
	pf := adsptest.Start(t)
	tn := pf.AddTenant("Child Services")
	pf.SetDocument(tn.ID, `{`+adspStream("updates")+`}`)
	srv := startPlain(t, engine.Config{OIDCBase: pf.OIDCBase(), Logger: e2eQuietLogger(), DrainTimeout: -1,
		ConfigService: &configsvc.Config{URL: pf.URL()},
		ADSP: adsp.Settings{TenantServiceURL: pf.URL(), EventServiceURL: pf.URL() + "/event/v1",
			ClientID: adsptest.ClientID, ClientSecret: adsptest.ClientSecret}})
	waitfor.True(t, 10*time.Second, "the condition", func() bool { _, ok := srv.Hub.Registry().Lookup(tn.ID, "updates"); return ok })
	if got, ok := srv.Store.TenantByRealm(tn.Realm); !ok || got != tn.ID {
		t.Fatalf("TenantByRealm = %q %v", got, ok)
	}
	if n := pf.TokenRequests(); n != 1 {
		t.Fatalf("client-credentials requests: %d, want 1", n)
	}
}
