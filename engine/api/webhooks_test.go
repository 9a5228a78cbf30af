package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pushgate/pushgate/engine/webhook"
)

// webhookFixture is the API with the real webhook service on the fixture's store (not started:
// these tests exercise the routes, engine/webhook the delivery).
func webhookFixture(t *testing.T) *fixture {
	t.Helper()
	var svc *webhook.Service
	f := newFixture(t, func(d *Deps) {
		var err error
		svc, err = webhook.New(webhook.Config{Store: d.Store, Configs: d.Store.AllConfigs})
		if err != nil {
			t.Fatal(err)
		}
		d.Webhooks = svc
		d.Applied = func() { _ = svc.Reload() }
	})
	t.Cleanup(svc.Close)
	doc := `{"operation":"UPDATE","update":{"webhooks":{"h1":{"id":"h1","name":"Hook","url":"https://hooks.example/h","events":[{"namespace":"a","name":"b"}]}}}}`
	if r := f.do("PATCH", configPath, "acme-admin", doc); r.status != 200 {
		t.Fatalf("PATCH %d %s", r.status, r.body)
	}
	return f
}

func TestWebhookRoutesAreDocumented(t *testing.T) {
	f := webhookFixture(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(f.do("GET", "/swagger/docs/v1", "", "").body, &doc); err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, rt := range f.api.Routes() {
		routes[strings.ToLower(rt.Method)+" "+rt.Pattern] = true
	}
	n := 0
	for p, item := range doc.Paths {
		for m := range item {
			if strings.HasPrefix(m, "x-") {
				continue
			}
			n++
			if !routes[m+" "+p] {
				t.Errorf("documented %s %s is not a route", m, p)
			}
		}
	}
	if n != len(routes) || !routes["post /push/v1/webhooks/{webhook}/secret/rotate"] {
		t.Fatalf("%d documented operations, %d routes", n, len(routes))
	}
	if _, ok := doc.Paths["/push/v1/webhooks"]; !ok {
		t.Fatal("webhook routes missing from the document")
	}
	// Without the service the routes and their documentation are absent (TestOpenAPI checks the rest).
	plain := newFixture(t)
	if r := plain.do("GET", "/push/v1/webhooks", "acme-admin", ""); r.status != 404 {
		t.Fatalf("webhook route without a service: %d", r.status)
	}
}

func TestWebhookRoutesAccess(t *testing.T) {
	f := webhookFixture(t)
	r := f.do("GET", "/push/v1/webhooks", "acme-read", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"key":"h1"`) || strings.Contains(string(r.body), "whsec_") {
		t.Fatalf("list %d %s", r.status, r.body)
	}
	expectError(t, f.do("GET", "/push/v1/webhooks/h1/secret", "acme-read", ""), 403, "configuration")
	expectError(t, f.do("GET", "/push/v1/webhooks/h1/secret", "acme-svc", ""), 403, "configuration admins")
	expectError(t, f.do("GET", "/push/v1/webhooks/h1/secret", "", ""), 401, "token")
	expectError(t, f.do("GET", "/push/v1/webhooks/h1/secret", "beta-admin", ""), 404, "Webhook not found")
	expectError(t, f.do("GET", "/push/v1/webhooks/h1/secret?tenantId="+f.acme.ID, "beta-admin", ""), 403, "another tenant")
	r = f.do("GET", "/push/v1/webhooks/h1/secret", "acme-admin", "")
	sec, _ := r.json(t)["secret"].(string)
	if r.status != 200 || !strings.HasPrefix(sec, "whsec_") || string(r.header.Peek("Cache-Control")) != "no-store" {
		t.Fatalf("secret %d %s", r.status, r.body)
	}
	// A core admin reaches a tenant's webhooks with ?tenantId=.
	if r := f.do("POST", "/push/v1/webhooks/h1/secret/rotate?tenantId="+f.acme.ID, "core-admin", ""); r.status != 200 || r.json(t)["previous"] != sec {
		t.Fatalf("rotate %d %s", r.status, r.body)
	}
	expectError(t, f.do("POST", "/push/v1/webhooks/h1/dead-letters/replay", "acme-admin", `{}`), 400, "ids")
	expectError(t, f.do("POST", "/push/v1/webhooks/h1/dead-letters/replay", "acme-admin", `{"ids":["msg_x"]}`), 404, "not dead letters")
	if r := f.do("POST", "/push/v1/webhooks/h1/dead-letters/replay", "acme-admin", `{"since":"2026-01-01T00:00:00Z"}`); r.status != 200 {
		t.Fatalf("replay since %d %s", r.status, r.body)
	}
	expectError(t, f.do("GET", "/push/v1/webhooks/h1/attempts?limit=0", "acme-admin", ""), 400, "limit")
	if r := f.do("POST", "/push/v1/webhooks/h1/test", "acme-svc", ""); r.status != 200 || !strings.HasPrefix(r.json(t)["deliveryId"].(string), "msg_") {
		t.Fatalf("test %d %s", r.status, r.body)
	}
	for _, path := range []string{"/push/v1/webhooks/nope/attempts", "/push/v1/webhooks/nope/dead-letters"} {
		expectError(t, f.do("GET", path, "acme-admin", ""), 404, "Webhook not found")
	}
	if r := f.do("POST", "/push/v1/webhooks/h1/enable", "acme-admin", ""); r.status != 200 {
		t.Fatalf("enable %d %s", r.status, r.body)
	}
}
