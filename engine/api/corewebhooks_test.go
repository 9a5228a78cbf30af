package api

import (
	"strings"
	"testing"
)

// TestTenantCannotReadCoreWebhooks is the probe's finding 3: ?core let a tenant's
// configuration-reader read the core webhooks (receiver URLs, response excerpts, timing of other
// tenants' events). Core webhook data is for core callers only; the core document a tenant reads
// with ?core (ADSP allows that read) comes without its webhooks.
func TestTenantCannotReadCoreWebhooks(t *testing.T) {
	f := webhookFixture(t)
	core := `{"operation":"UPDATE","update":{"webhooks":{"c1":{"id":"c1","name":"Core","url":"https://user:pw@core-hooks.example/c","events":[{"namespace":"a","name":"b"}]}}}}`
	if r := f.do("PATCH", configPath, "core-admin", core); r.status != 200 {
		t.Fatalf("core PATCH %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/push/v1/webhooks", "core-admin", ""); r.status != 200 || !strings.Contains(string(r.body), "c1") {
		t.Fatalf("core admin lists core webhooks: %d %s", r.status, r.body)
	}
	for _, who := range []string{"acme-read", "acme-admin", "acme-svc", "beta-admin"} {
		for _, path := range []string{"/push/v1/webhooks?core", "/push/v1/webhooks/c1/attempts?core", "/push/v1/webhooks/c1/dead-letters?core",
			"/push/v1/webhooks/c1/secret?core"} {
			r := f.do("GET", path, who, "")
			if r.status != 403 || strings.Contains(string(r.body), "core-hooks") {
				t.Errorf("%s GET %s = %d %.120s, want 403", who, path, r.status, r.body)
			}
		}
		for _, path := range []string{configPath + "?core", configPath + "/latest?core"} {
			r := f.do("GET", path, who, "")
			if r.status == 200 && strings.Contains(string(r.body), "core-hooks") {
				t.Errorf("%s GET %s shows the core webhooks", who, path)
			}
		}
	}
	// The tenant's own webhooks are unchanged.
	if r := f.do("GET", "/push/v1/webhooks", "acme-read", ""); r.status != 200 || !strings.Contains(string(r.body), "h1") {
		t.Fatalf("tenant list %d %s", r.status, r.body)
	}
}
