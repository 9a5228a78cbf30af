package adsp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/adsp/adsptest"
	"github.com/pushgate/pushgate/engine/source"
)

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serviceAccount(t *testing.T, pf *adsptest.Platform, secret string, early time.Duration) *adsp.ServiceAccount {
	t.Helper()
	sa, err := adsp.NewServiceAccount(adsp.ServiceAccountConfig{TokenURL: adsp.TokenURL(pf.OIDCBase()),
		ClientID: adsptest.ClientID, ClientSecret: secret, EarlyExpiry: early})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

// The service-account token is fetched once by client credentials from the core realm, shared by
// every caller, and replaced EarlyExpiry before it expires.
func TestServiceAccountFetchedOnceRefreshedAtExpiry(t *testing.T) {
	pf := adsptest.Start(t)
	pf.SetTokenLifetime(3 * time.Second)
	sa := serviceAccount(t, pf, adsptest.ClientSecret, 2*time.Second) // valid for 1 s here
	first, err := sa.Token(context.Background())
	if err != nil || !strings.HasPrefix(first, "svc-") {
		t.Fatalf("Token: %q %v", first, err)
	}
	for range 5 {
		if tok, _ := sa.Token(context.Background()); tok != first {
			t.Fatalf("token replaced before its expiry: %q", tok)
		}
	}
	if n := pf.TokenRequests(); n != 1 {
		t.Fatalf("token requests: %d, want 1", n)
	}
	waitFor(t, 5*time.Second, func() bool {
		tok, err := sa.Token(context.Background())
		return err == nil && tok != first
	})
	if n := pf.TokenRequests(); n != 2 {
		t.Fatalf("token requests after expiry: %d, want 2", n)
	}

	bad := serviceAccount(t, pf, "wrong", 0)
	if _, err := bad.Token(context.Background()); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong secret: %v (must fail without showing the secret)", err)
	}
}

// The directory answers the entries of the platform namespace (cached for the TTL, read again on
// a miss); a pinned URL wins without any request.
func TestDirectory(t *testing.T) {
	var requests atomic.Int64
	entries := `[{"namespace":"platform","service":"tenant-service:v2","url":"http://tenants.example/api/tenant/v2","urn":"urn:ads:platform:tenant-service:v2"},` +
		`{"namespace":"platform","service":"event-service:v1","url":"http://events.example/event/v1","urn":"urn:ads:platform:event-service:v1"}]`
	dir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/directory/v2/namespaces/platform/entries" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(entries))
	}))
	t.Cleanup(dir.Close)
	d, err := adsp.NewDirectory(adsp.DirectoryConfig{URL: dir.URL, Pinned: map[string]string{adsp.EventServiceAPI: "http://pinned.example/event/v1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := d.Resolve(ctx, adsp.TenantServiceAPI, "v2/tenants")
	if err != nil || got != "http://tenants.example/api/tenant/v2/tenants" {
		t.Fatalf("tenants URL %q %v (new URL('v2/tenants', api) in the SDK)", got, err)
	}
	if got, _ := d.Resolve(ctx, adsp.TenantServiceAPI, "v2/tenants/abc"); got != "http://tenants.example/api/tenant/v2/tenants/abc" || requests.Load() != 1 {
		t.Fatalf("second look-up %q after %d requests, want 1 (cached)", got, requests.Load())
	}
	if got, _ := d.Resolve(ctx, adsp.EventServiceAPI, "v1/events"); got != "http://pinned.example/event/v1/events" || requests.Load() != 1 {
		t.Fatalf("pinned event service %q after %d requests", got, requests.Load())
	}
	if _, err := d.URL(ctx, adsp.ConfigurationServiceAPI); err == nil || requests.Load() != 2 {
		t.Fatalf("missing entry: %v after %d requests (want an error after one more read)", err, requests.Load())
	}
}

func tenantsOf(t *testing.T, pf *adsptest.Platform, burst int) *adsp.Tenants {
	t.Helper()
	d, err := adsp.NewDirectory(adsp.DirectoryConfig{URL: pf.URL()})
	if err != nil {
		t.Fatal(err)
	}
	sa := serviceAccount(t, pf, adsptest.ClientSecret, 0)
	ts, err := adsp.NewTenants(adsp.TenantsConfig{Directory: d, Token: sa.Token, MissBurst: burst, MissRate: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ts.Start(ctx)
	waitFor(t, 5*time.Second, func() bool { return ts.Ready() == nil })
	return ts
}

// Tenants come from the tenant service's list: every reference form resolves, the UUID realm maps
// to the tenant (ignoring case, as the SDK); a miss asks the service once, within the rate limit;
// a tenant event makes the list be read again.
func TestTenantsFromTenantService(t *testing.T) {
	pf := adsptest.Start(t)
	a := pf.AddTenant("Child Services")
	ts := tenantsOf(t, pf, 1)
	for _, ref := range []string{a.ID, strings.TrimPrefix(a.ID, "urn:ads:platform:tenant-service:v2:/tenants/"), "child-services", "CHILD SERVICES"} {
		if got, ok := ts.Resolve(ref); !ok || got.ID != a.ID || got.Realm != a.Realm {
			t.Fatalf("Resolve(%q) = %+v %v", ref, got, ok)
		}
	}
	if urn, ok := ts.ByRealm(strings.ToUpper(a.Realm)); !ok || urn != a.ID {
		t.Fatalf("ByRealm = %q %v", urn, ok)
	}
	if _, ok := ts.ByRealm("core"); ok {
		t.Fatal("the core realm resolved to a tenant")
	}

	// A tenant created after the list was read: one look-up by realm finds it.
	b := pf.AddTenant("Second")
	before := pf.TenantRequests()
	if urn, ok := ts.ByRealm(b.Realm); !ok || urn != b.ID {
		t.Fatalf("ByRealm of a new tenant = %q %v", urn, ok)
	}
	if pf.TenantRequests() != before+1 {
		t.Fatalf("tenant requests %d, want %d", pf.TenantRequests(), before+1)
	}
	// The bucket (burst 1, next token in ~17 min) is empty: unknown realms cost no request.
	for range 20 {
		if _, ok := ts.ByRealm("unknown-realm"); ok {
			t.Fatal("unknown realm resolved")
		}
	}
	if pf.TenantRequests() != before+1 {
		t.Fatalf("misses past the rate limit made %d requests", pf.TenantRequests()-before-1)
	}

	// tenant-created reads the list again (no miss needed).
	c := pf.AddTenant("Third")
	ts.Observe("tenant-service", "tenant-created")
	waitFor(t, 5*time.Second, func() bool {
		for _, x := range ts.Tenants() {
			if x.ID == c.ID {
				return true
			}
		}
		return false
	})
}

// webhook-triggered events are posted to the event service with the service token, retried after
// failures; a full queue refuses at once (never blocks the caller).
func TestEventsPostedWithRetries(t *testing.T) {
	pf := adsptest.Start(t)
	tn := pf.AddTenant("Child Services")
	d, err := adsp.NewDirectory(adsp.DirectoryConfig{URL: pf.URL()})
	if err != nil {
		t.Fatal(err)
	}
	sa := serviceAccount(t, pf, adsptest.ClientSecret, 0)
	ev, err := adsp.NewEvents(adsp.EventsConfig{Directory: d, Token: sa.Token, Backoff: 10 * time.Millisecond, Attempts: 3, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ev.Close)
	event := func(corr string) *source.Event {
		e := &source.Event{TenantID: tn.ID, Namespace: "push-service", Name: "webhook-triggered", Timestamp: time.Unix(1767225600, 0), CorrelationID: corr}
		e.JSON = source.AppendEventJSON(nil, tn.ID, e.Namespace, e.Name, e.Timestamp, corr, []byte(`{"name":"Hook"}`), []byte(`{"webhook":{"name":"Hook"}}`))
		return e
	}
	pf.FailEvents(2)
	if _, err := ev.Publish(event("c-1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return len(pf.Events()) == 1 })
	got := pf.Events()[0]
	b, _ := json.Marshal(got.Body)
	want := `{"context":{"name":"Hook"},"correlationId":"c-1","name":"webhook-triggered","namespace":"push-service","payload":{"webhook":{"name":"Hook"}},"tenantId":"` + tn.ID + `","timestamp":"2026-01-01T00:00:00.000Z"}`
	if string(b) != want || !strings.HasPrefix(got.Authorization, "Bearer svc-") {
		t.Fatalf("posted %s (%q), want %s with the service token", b, got.Authorization, want)
	}

	pf.FailEvents(100)
	if _, err := ev.Publish(event("c-2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { _, failed, _ := ev.Stats(); return failed == 1 })

	// Queue of one: a burst past it is refused without blocking.
	var refused int
	for range 50 {
		if _, err := ev.Publish(event("burst")); errors.Is(err, adsp.ErrEventQueueFull) {
			refused++
		}
	}
	if _, _, dropped := ev.Stats(); refused == 0 || dropped != uint64(refused) {
		t.Fatalf("refused %d, dropped %d", refused, dropped)
	}
}

// A per-service flag takes the API URL as the directory lists it, or the service's root.
func TestSettingsPinned(t *testing.T) {
	got := adsp.Settings{TenantServiceURL: "http://tenant-management-api:3333", EventServiceURL: "http://event-service:3334/event/v1"}.Pinned()
	if got[adsp.TenantServiceAPI] != "http://tenant-management-api:3333/api/tenant/v2" || got[adsp.EventServiceAPI] != "http://event-service:3334/event/v1" {
		t.Fatalf("pinned %v", got)
	}
}
