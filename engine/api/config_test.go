package api

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
)

const streamDoc = `{"my-stream":{"id":"my-stream","name":"My stream","subscriberRoles":["r1"],"events":[{"namespace":"svc","name":"done"}]}}`

func TestConfigurationLifecycle(t *testing.T) {
	f := newFixture(t)
	acmeRef := "?tenantId=acme-corp"

	// Nothing stored yet for the tenant.
	r := f.do("GET", configPath, "acme-admin", "")
	if r.status != 200 || string(r.body) != `{"namespace":"platform","name":"push-service","tenantId":"`+f.acme.ID+`"}` {
		t.Fatalf("empty GET = %d %s", r.status, r.body)
	}
	if r := f.do("GET", configPath+"/latest", "acme-admin", ""); r.status != 200 || string(r.body) != `{}` {
		t.Fatalf("empty latest = %d %s", r.status, r.body)
	}

	// UPDATE creates revision 0.
	r = f.do("PATCH", configPath, "acme-admin", `{"operation":"UPDATE","update":`+streamDoc+`}`)
	if r.status != 200 {
		t.Fatalf("PATCH = %d %s", r.status, r.body)
	}
	re := regexp.MustCompile(`^\{"urn":"urn:ads:platform:configuration-service:v2:/configuration/platform/push-service","namespace":"platform","name":"push-service","latest":\{"revision":0,"configuration":(.*),"lastUpdated":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","created":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}\}$`)
	if m := re.FindSubmatch(r.body); m == nil || string(m[1]) != streamDoc {
		t.Fatalf("PATCH body %s", r.body)
	}
	select {
	case <-f.st.Changes():
	default:
		t.Fatal("no change notification")
	}

	// UPDATE shallow-merges a stream; the core caller addresses the tenant with tenantId.
	r = f.do("PATCH", configPath+acmeRef, "core-admin", `{"operation":"UPDATE","update":{"my-stream":{"name":"Renamed"}}}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"revision":1,"configuration":{"my-stream":{"id":"my-stream","name":"Renamed","subscriberRoles":["r1"]`) {
		t.Fatalf("merge = %d %s", r.status, r.body)
	}
	// A no-op keeps the revision.
	r = f.do("PATCH", configPath, "acme-svc", `{"operation":"UPDATE","update":{"my-stream":{"name":"Renamed"}}}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"revision":1,`) {
		t.Fatalf("no-op = %d %s", r.status, r.body)
	}
	// GET by the tenant and by core (any tenant reference).
	for _, c := range []struct{ token, query string }{
		{"acme-admin", ""}, {"acme-read", ""}, {"acme-admin", "?tenantId=" + f.acme.ID},
		{"core-admin", acmeRef}, {"core-admin", "?tenantId=Acme%20Corp"},
	} {
		r = f.do("GET", configPath+c.query, c.token, "")
		if r.status != 200 || !strings.Contains(string(r.body), `"tenantId":"`+f.acme.ID+`","latest":{"revision":1,`) {
			t.Fatalf("GET %v = %d %s", c, r.status, r.body)
		}
		r = f.do("GET", configPath+"/latest"+c.query, c.token, "")
		if r.status != 200 || !strings.HasPrefix(string(r.body), `{"my-stream":{"id":"my-stream","name":"Renamed"`) {
			t.Fatalf("latest %v = %d %s", c, r.status, r.body)
		}
	}
	// DELETE, then REPLACE.
	r = f.do("PATCH", configPath, "acme-admin", `{"operation":"DELETE","property":"my-stream"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"revision":2,"configuration":{}`) {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	r = f.do("PATCH", configPath, "acme-admin", `{"operation":"REPLACE","configuration":`+streamDoc+`}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"revision":3,"configuration":`+streamDoc) {
		t.Fatalf("REPLACE = %d %s", r.status, r.body)
	}

	// The core document: core callers without tenantId, tenant callers with ?core (read only).
	r = f.do("GET", configPath+"/latest", "core-admin", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"configuration-updates":{`) {
		t.Fatalf("core latest = %d %.200s", r.status, r.body)
	}
	r = f.do("GET", configPath+"?core", "acme-read", "")
	if r.status != 200 || strings.Contains(string(r.body), `"tenantId"`) || !strings.Contains(string(r.body), `"task-updates"`) {
		t.Fatalf("?core = %d %.200s", r.status, r.body)
	}
	r = f.do("PATCH", configPath, "core-admin", `{"operation":"UPDATE","update":`+streamDoc+`}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"revision":1,`) {
		t.Fatalf("core PATCH = %d %.300s", r.status, r.body)
	}
	// ?core on PATCH does not redirect a tenant caller to the core document.
	r = f.do("PATCH", configPath+"?core", "acme-admin", `{"operation":"DELETE","property":"my-stream"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"revision":4,"configuration":{}`) {
		t.Fatalf("tenant PATCH ?core = %d %s", r.status, r.body)
	}
}

func TestConfigurationErrors(t *testing.T) {
	f := newFixture(t)
	upd := `{"operation":"UPDATE","update":` + streamDoc + `}`
	tests := []struct {
		name, method, path, token, body string
		status                          int
		msg                             string
	}{
		{"unknown operation", "PATCH", configPath, "acme-admin", `{"operation":"MERGE"}`, 400, "not recognized"},
		{"missing operation", "PATCH", configPath, "acme-admin", `{}`, 400, "operation is required"},
		{"malformed", "PATCH", configPath, "acme-admin", `{"operation":`, 400, "valid JSON"},
		{"schema: missing name", "PATCH", configPath, "acme-admin", `{"operation":"UPDATE","update":{"s":{"id":"s"}}}`, 400, "name"},
		{"schema: bad id", "PATCH", configPath, "acme-admin", `{"operation":"REPLACE","configuration":{"s!":{"id":"s!","name":"S"}}}`, 400, "s!"},
		{"oversized", "PATCH", configPath, "acme-admin", `{"operation":"REPLACE","configuration":{"x":"` + strings.Repeat("a", maxSmallBody) + `"}}`, 413, "1 MiB"},
		{"reader cannot patch", "PATCH", configPath, "acme-read", upd, 403, "not permitted"},
		{"no role", "GET", configPath, "acme-user", "", 403, "not permitted"},
		{"core without role", "GET", configPath, "core-none", "", 403, "not permitted"},
		{"cross-tenant GET", "GET", configPath + "?tenantId=beta", "acme-admin", "", 403, "another tenant"},
		{"cross-tenant latest", "GET", configPath + "/latest?tenantId=Beta", "acme-admin", "", 403, "another tenant"},
		{"cross-tenant PATCH", "PATCH", configPath + "?tenantId=" + "beta", "acme-admin", upd, 403, "another tenant"},
		{"cross-tenant PATCH by URN", "PATCH", configPath + "?tenantId=" + "urn:ads:platform:tenant-service:v2:/tenants/", "acme-admin", upd, 404, "Tenant not found"},
		{"unknown tenant (core)", "GET", configPath + "?tenantId=nobody", "core-admin", "", 404, "Tenant not found"},
		{"unknown tenant (tenant)", "PATCH", configPath + "?tenantId=nobody", "acme-admin", upd, 404, "Tenant not found"},
		{"empty tenantId", "GET", configPath + "?tenantId=", "core-admin", "", 404, "Tenant not found"},
		{"other configuration", "GET", "/configuration/v2/configuration/platform/tenant-service", "core-admin", "", 404, "Not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.do(tt.method, tt.path, tt.token, tt.body), tt.status, tt.msg)
		})
	}
	// Nothing above changed beta's or acme's document.
	for _, tn := range []string{f.acme.ID, f.beta.ID} {
		if _, err := f.st.Config(tn); err == nil {
			t.Fatalf("tenant %s has a document after failed PATCHes", tn)
		}
	}
}

// A caller that saw its write answered finds the change on this instance at once: the API runs
// Deps.Applied (the server's registry rebuild) before answering. The registry here is a cache
// that only Applied refreshes, as the server's is.
func TestWritesAreAppliedBeforeTheAnswer(t *testing.T) {
	var (
		mu     sync.Mutex
		cached *stream.Registry
		calls  int
	)
	var st *store.Store
	rebuild := func() {
		core, tenants := st.AllConfigs()
		reg, err := stream.Build(core, tenants)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		cached, calls = reg, calls+1
		mu.Unlock()
	}
	f := newFixture(t, func(d *Deps) {
		st = d.Store
		d.Registry = func() *stream.Registry { mu.Lock(); defer mu.Unlock(); return cached }
		d.Applied = rebuild
	})
	rebuild()
	r := f.do("PATCH", configPath, "acme-admin", `{"operation":"UPDATE","update":{"fresh":{"id":"fresh","name":"Fresh","events":[]}}}`)
	if r.status != 200 {
		t.Fatalf("PATCH = %d %s", r.status, r.body)
	}
	if got := f.do("GET", "/stream/v1/streams", "acme-admin", ""); !strings.Contains(string(got.body), `"fresh"`) {
		t.Fatalf("streams right after the PATCH = %d %s, want the new stream", got.status, got.body)
	}
	if r := f.do("POST", "/tenant/v2/tenants", "core-admin", `{"name":"Gamma"}`); r.status != 201 {
		t.Fatalf("POST tenant = %d %s", r.status, r.body)
	}
	if r := f.do("PATCH", configPath, "acme-admin", `{"operation":"UPDATE","update":{"bad":{"name":7}}}`); r.status != 400 {
		t.Fatalf("invalid PATCH = %d %s", r.status, r.body)
	}
	if calls != 3 { // the initial build, the PATCH and the tenant: not the refused write
		t.Fatalf("Applied ran %d times after 2 committed writes, want 2", calls-1)
	}
}
