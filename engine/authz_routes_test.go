package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/protocol/socketio"
)

// The route × role table: every operation of the served OpenAPI document, called with a token of
// each role of tenant A, of tenant B, of the core realm and with none, answers the status the
// table says. A route without a row fails the test with its name (and the statuses observed, to
// review before they become its row); a row without a route fails too.
//
// Adding a row: the key is "METHOD /pattern" as in openapi.json; each case is a concrete request
// (in path and body, {A} and {B} are tenant A's and tenant B's URNs, query-escaped) and its
// expected statuses, "role:status" pairs with "*" for every role not named.

// authzRoles are the callers, in the order of the table's columns.
var authzRoles = []string{"none", "A:user", "A:reader", "A:service", "A:admin", "B:admin", "core:user", "core:reader", "core:admin"}

const (
	roleReader  = "urn:ads:platform:configuration-service:configuration-reader"
	roleService = "urn:ads:platform:configuration-service:configured-service"
	roleAdminA  = "stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin,urn:ads:platform:tenant-service:tenant-admin"
)

type authzCase struct {
	path, body string
	want       string
}

// Shorthands for the common rows.
const (
	public = "*:200"
	// configuration readers of the addressed document (A's own, or core's for core callers).
	readers = "none:401 A:user:403 core:user:403 *:200"
	// configuration writers (admin, configured service); 400 = authorized, the body is refused.
	writers = "none:401 A:user:403 A:reader:403 core:user:403 core:reader:403"
	// configuration admins only (webhook secrets).
	admins = "none:401 A:user:403 A:reader:403 A:service:403 core:user:403 core:reader:403"
	// tenant A's data addressed with ?tenantId={A}: tenant B is refused.
	readersOfA = "none:401 A:user:403 B:admin:403 core:user:403 *:200"
	// the core document's webhooks (?core): core callers only.
	coreReaders = "none:401 A:user:403 A:reader:403 A:service:403 A:admin:403 B:admin:403 core:user:403 *:200"
)

const (
	hookBody    = `{"since":"2026-01-01T00:00:00Z"}`
	eventBody   = `{"namespace":"demo","name":"ping","timestamp":"2026-01-01T00:00:00Z","payload":{}}`
	eventBodyA  = `{"tenantId":"{A}","namespace":"demo","name":"ping","timestamp":"2026-01-01T00:00:00Z","payload":{}}`
	previewBody = `{"stream":{"id":"s","name":"S","events":[{"namespace":"demo","name":"ping"}]},"event":{"namespace":"demo","name":"ping","timestamp":"2026-01-01T00:00:00Z","payload":{}}}`
	noopPatch   = `{"operation":"UPDATE","update":{}}`
)

var authzTable = map[string][]authzCase{
	"GET /":                {{path: "/", want: public}},
	"GET /health":          {{path: "/health", want: public}},
	"GET /livez":           {{path: "/livez", want: public}},
	"GET /readyz":          {{path: "/readyz", want: public}},
	"GET /metrics":         {{path: "/metrics", want: public}},
	"GET /swagger/docs/v1": {{path: "/swagger/docs/v1", want: public}},
	"GET /stream/v1/streams": {
		{path: "/stream/v1/streams", want: "none:400 core:user:400 core:reader:400 core:admin:400 *:200"},
		// A named tenant's stream list is public, as in ADSP (anonymous subscribers find public streams).
		{path: "/stream/v1/streams?tenant={A}", want: public},
	},
	"GET /stream/v1/streams/{stream}": {
		{path: "/stream/v1/streams/configuration-updates", want: "none:400 A:user:403 core:user:403 *:200"}, // none: no tenant named
		{path: "/stream/v1/streams/configuration-updates?tenant={A}", want: "none:401 A:user:403 B:admin:403 core:user:403 *:200"},
	},
	"GET /tenant/v2/tenants":  {{path: "/tenant/v2/tenants", want: "none:401 *:200"}},
	"POST /tenant/v2/tenants": {{path: "/tenant/v2/tenants", body: `{"name":"Acme Corp"}`, want: "none:401 core:admin:409 *:403"}},
	"GET /configuration/v2/configuration/platform/push-service": {
		{path: "/configuration/v2/configuration/platform/push-service", want: readers},
		{path: "/configuration/v2/configuration/platform/push-service?core", want: readers},
		{path: "/configuration/v2/configuration/platform/push-service?tenantId={A}", want: readersOfA},
	},
	"GET /configuration/v2/configuration/platform/push-service/latest": {
		{path: "/configuration/v2/configuration/platform/push-service/latest", want: readers},
		{path: "/configuration/v2/configuration/platform/push-service/latest?core", want: readers},
		{path: "/configuration/v2/configuration/platform/push-service/latest?tenantId={A}", want: readersOfA},
	},
	"PATCH /configuration/v2/configuration/platform/push-service": {
		{path: "/configuration/v2/configuration/platform/push-service", body: noopPatch, want: writers + " *:200"},
		{path: "/configuration/v2/configuration/platform/push-service?tenantId={A}", body: noopPatch, want: writers + " B:admin:403 *:200"},
	},
	"POST /event/v1/events": {
		{path: "/event/v1/events", body: eventBody, want: "none:401 A:admin:200 B:admin:200 core:admin:400 *:403"},
		{path: "/event/v1/events", body: eventBodyA, want: "none:401 A:admin:200 B:admin:403 core:admin:200 *:403"},
	},
	"GET /auth/realms/{realm}/.well-known/openid-configuration": {{path: "/auth/realms/demo/.well-known/openid-configuration", want: public}},
	"GET /auth/realms/{realm}/protocol/openid-connect/certs":    {{path: "/auth/realms/demo/protocol/openid-connect/certs", want: public}},
	"GET /console":            {{path: "/console", want: public}},
	"GET /console/{asset}":    {{path: "/console/app.js", want: public}},
	"GET /console/api/status": {{path: "/console/api/status", want: public}},
	// Development only: the token mint needs no token (it is how a developer gets one); it is
	// held to loopback peers, the configured Host and the page's own Origin (TestDevRoutesRefuseRebinding).
	"POST /console/api/token":   {{path: "/console/api/token", body: `{"core":true}`, want: public}},
	"POST /console/api/preview": {{path: "/console/api/preview", body: previewBody, want: "none:401 *:200"}},
	"GET /push/v1/webhooks": {
		{path: "/push/v1/webhooks", want: readers},
		{path: "/push/v1/webhooks?tenantId={A}", want: readersOfA},
		{path: "/push/v1/webhooks?core", want: coreReaders},
	},
	"GET /push/v1/webhooks/{webhook}/attempts": {
		{path: "/push/v1/webhooks/h1/attempts?tenantId={A}", want: readersOfA},
		{path: "/push/v1/webhooks/c1/attempts?core", want: coreReaders},
	},
	"GET /push/v1/webhooks/{webhook}/dead-letters": {
		{path: "/push/v1/webhooks/h1/dead-letters?tenantId={A}", want: readersOfA},
		{path: "/push/v1/webhooks/c1/dead-letters?core", want: coreReaders},
	},
	"POST /push/v1/webhooks/{webhook}/dead-letters/replay": {
		{path: "/push/v1/webhooks/h1/dead-letters/replay?tenantId={A}", body: hookBody, want: writers + " B:admin:403 *:200"},
		{path: "/push/v1/webhooks/c1/dead-letters/replay?core", body: hookBody, want: writers + " A:service:403 A:admin:403 B:admin:403 *:200"},
	},
	"POST /push/v1/webhooks/{webhook}/test": {
		{path: "/push/v1/webhooks/h1/test?tenantId={A}", want: writers + " B:admin:403 *:200"},
		{path: "/push/v1/webhooks/c1/test?core", want: writers + " A:service:403 A:admin:403 B:admin:403 *:200"},
	},
	"GET /push/v1/webhooks/{webhook}/secret": {
		{path: "/push/v1/webhooks/h1/secret?tenantId={A}", want: admins + " B:admin:403 *:200"},
		{path: "/push/v1/webhooks/c1/secret?core", want: admins + " A:admin:403 B:admin:403 *:200"},
	},
	"POST /push/v1/webhooks/{webhook}/secret/rotate": {
		{path: "/push/v1/webhooks/h1/secret/rotate?tenantId={A}", want: admins + " B:admin:403 *:200"},
		{path: "/push/v1/webhooks/c1/secret/rotate?core", want: admins + " A:admin:403 B:admin:403 *:200"},
	},
	// Operator routes (who is listening, disconnect, revoke, receipts): a tenant admin for its own
	// tenant, the platform service for all.
	"GET /push/v1/connections": {
		{path: "/push/v1/connections", want: "none:401 A:admin:200 B:admin:200 core:admin:200 *:403"},
		{path: "/push/v1/connections?tenant={A}", want: "none:401 A:admin:200 B:admin:403 core:admin:200 *:403"},
	},
	"POST /push/v1/connections/disconnect": {
		{path: "/push/v1/connections/disconnect", body: `{"tenant":"{A}","sub":"u1"}`, want: "none:401 A:admin:202 B:admin:403 core:admin:202 *:403"},
	},
	"POST /push/v1/revocations": {
		{path: "/push/v1/revocations", body: `{"tenant":"{A}","sub":"u1"}`, want: "none:401 A:admin:201 B:admin:403 core:admin:201 *:403"},
	},
	// An unknown event: the caller is authorized (404), or not (401/403).
	"GET /push/v1/events/{eventId}": {
		{path: "/push/v1/events/0-0", want: "none:401 A:admin:404 B:admin:404 core:admin:404 *:403"},
	},
	"POST /push/v1/webhooks/{webhook}/enable": {
		{path: "/push/v1/webhooks/h1/enable?tenantId={A}", want: writers + " B:admin:403 *:200"},
		{path: "/push/v1/webhooks/c1/enable?core", want: writers + " A:service:403 A:admin:403 B:admin:403 *:200"},
	},
}

func TestRouteRoleTable(t *testing.T) {
	e := e2eStart(t, nil)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(recv.Close)
	tokens := map[string]string{"none": ""}
	for _, r := range authzRoles[1:] {
		realm, role, _ := strings.Cut(r, ":")
		realm = map[string]string{"A": "demo", "B": "acme-corp", "core": "core"}[realm]
		roles := map[string]string{"user": "", "reader": roleReader, "service": roleService, "admin": roleAdminA}[role]
		if r == "core:admin" {
			roles += ",urn:ads:platform:tenant-service:platform-service"
		}
		tokens[r] = e.mint(realm, roles, "", time.Hour)
	}
	hook := func(key string) string {
		return `{"operation":"UPDATE","update":{"webhooks":{"` + key + `":{"id":"` + key + `","name":"H","url":"` + recv.URL + `/h","events":[{"namespace":"demo","name":"ping"}]}}}}`
	}
	e.patch(tokens["A:admin"], "", hook("h1"))
	e.patch(tokens["B:admin"], "", hook("h1"))
	e.patch(e.core, "", hook("c1"))
	repl := strings.NewReplacer("{A}", url.QueryEscape(e.demoID), "{B}", url.QueryEscape(e.acmeID))
	replBody := strings.NewReplacer("{A}", e.demoID, "{B}", e.acmeID)

	st, body := e.do("GET", "/swagger/docs/v1", "", "", nil)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if st != 200 || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("openapi: %d", st)
	}
	documented := map[string]bool{}
	var keys []string
	for p, item := range doc.Paths {
		for m := range item {
			if !strings.HasPrefix(m, "x-") {
				keys = append(keys, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		documented[key] = true
		cases, ok := authzTable[key]
		if !ok {
			method, pattern, _ := strings.Cut(key, " ")
			t.Errorf("route %s has no row in authzTable (engine/authz_routes_test.go); add one. Observed for %s (review before pasting):\n\t%q: {{path: %q, want: %q}},",
				key, pattern, key, pattern, observed(e, tokens, method, pattern, ""))
			continue
		}
		method, _, _ := strings.Cut(key, " ")
		for _, c := range cases {
			path := repl.Replace(c.path)
			got := observed(e, tokens, method, path, replBody.Replace(c.body))
			if d := diff(c.want, got); d != "" {
				t.Errorf("%s %s: %s\n\tgot  %s", method, c.path, d, got)
			}
		}
	}
	for key := range authzTable {
		if !documented[key] {
			t.Errorf("authzTable row %q is not an operation of the OpenAPI document", key)
		}
	}
}

// observed calls method path with every role's token and returns "role:status …".
func observed(e *e2eEnv, tokens map[string]string, method, path, body string) string {
	var out []string
	for _, r := range authzRoles {
		out = append(out, r+":"+strconv.Itoa(statusOf(e, method, path, tokens[r], body)))
	}
	return strings.Join(out, " ")
}

// statusOf returns the status of one request without reading the body (an SSE stream stays open).
func statusOf(e *e2eEnv, method, path, token, body string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, e.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// diff compares a "role:status" spec ("*" for the rest) with an observation.
func diff(want, got string) string {
	exp := map[string]string{}
	for _, f := range strings.Fields(want) {
		i := strings.LastIndexByte(f, ':')
		exp[f[:i]] = f[i+1:] // a later pair wins: shorthand + " B:admin:403"
	}
	var bad []string
	for _, f := range strings.Fields(got) {
		i := strings.LastIndexByte(f, ':')
		r, s := f[:i], f[i+1:]
		w, ok := exp[r]
		if !ok {
			w = exp["*"]
		}
		if w != s {
			bad = append(bad, fmt.Sprintf("%s got %s, want %s", r, s, w))
		}
	}
	return strings.Join(bad, "; ")
}

// TestDevRoutesRefuseRebinding: over a real loopback socket, the token mint refuses a request
// whose Host names another site (a DNS-rebinding page) and one from another origin, and
// answers the server's own page.
func TestDevRoutesRefuseRebinding(t *testing.T) {
	e := e2eStart(t, nil)
	mint := func(host, origin string) (int, string) {
		req, _ := http.NewRequest("POST", e.url+"/console/api/token", strings.NewReader(`{"core":true}`))
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := mint("evil.example:8080", "http://evil.example:8080"); st != 403 || !strings.Contains(body, "rebinding") {
		t.Fatalf("rebound Host: %d %s", st, body)
	}
	if st, body := mint(e.addr, "http://evil.example:8080"); st != 403 || !strings.Contains(body, "Origin") {
		t.Fatalf("foreign Origin: %d %s", st, body)
	}
	if st, body := mint(e.addr, e.url); st != 200 || !strings.Contains(body, `"token"`) {
		t.Fatalf("own page: %d %s", st, body)
	}
}

// TestRefreshKeepsTheRealm: auth:refresh accepts only a token of the connection's own realm —
// a core token with the same subject (core users may subscribe to any tenant's streams) or
// another tenant's must not take over a tenant connection.
func TestRefreshKeepsTheRealm(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "rr", `{"id":"rr","name":"R","events":[{"namespace":"rr","name":"e"}]}`)
	c := e.subscribeSIO("/demo", e2eQ("stream", "rr"), map[string]any{"token": e.mint("demo", "stream-listener", "same-sub", time.Minute)})
	refresh := map[int64]string{
		1: e.mint("core", "stream-listener,urn:ads:platform:tenant-service:platform-service", "same-sub", time.Hour),
		2: e.mint("acme-corp", "stream-listener", "same-sub", time.Hour),
		3: e.mint("demo", "stream-listener", "same-sub", time.Hour),
	}
	for id, tok := range refresh {
		c.write("4" + string(socketio.AppendEventAck(nil, "/demo", id, "auth:refresh", []byte(fmt.Sprintf(`{"token":%q}`, tok)))))
	}
	acks := map[int64]string{}
	for len(acks) < len(refresh) {
		if p := c.next(); p.Type == socketio.Ack {
			acks[p.Ack] = p.Data
		}
	}
	for _, id := range []int64{1, 2} {
		if !strings.Contains(acks[id], `"ok":false`) || !strings.Contains(acks[id], `"error"`) {
			t.Errorf("refresh %d with a token of another realm: %s, want ok:false with an error", id, acks[id])
		}
	}
	if !strings.Contains(acks[3], `"ok":true`) {
		t.Errorf("refresh with the connection's realm: %s", acks[3])
	}
}

// TestWebhookSaveRefusesBlockedAddress: through the real server, a webhook URL whose host is a
// refused address literal is a 400 naming the field when the document is saved (development mode
// allows loopback only).
func TestWebhookSaveRefusesBlockedAddress(t *testing.T) {
	e := e2eStart(t, nil)
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1%25eth0]/", "http://[::169.254.169.254]/", "http://10.0.0.1/"} {
		body := `{"operation":"UPDATE","update":{"webhooks":{"a":{"id":"a","name":"A","url":"` + u + `","events":[{"namespace":"demo","name":"ping"}]}}}}`
		st, resp := e.do("PATCH", "/configuration/v2/configuration/platform/push-service", e.demo, body, nil)
		if st != 400 || !strings.Contains(string(resp), "webhooks.a.url") {
			t.Errorf("%s: %d %s, want 400 naming webhooks.a.url", u, st, resp)
		}
	}
	body := `{"operation":"UPDATE","update":{"webhooks":{"a":{"id":"a","name":"A","url":"http://127.0.0.1:9/h","events":[{"namespace":"demo","name":"ping"}]}}}}`
	if st, resp := e.do("PATCH", "/configuration/v2/configuration/platform/push-service", e.demo, body, nil); st != 200 {
		t.Errorf("loopback in development mode: %d %s", st, resp)
	}
}
