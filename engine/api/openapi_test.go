package api

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestOpenAPI walks the route table and the served document in both directions: every route is
// documented with its method, every documented operation is a route, the SSE route is a
// text/event-stream response, and every $ref resolves.
func TestOpenAPI(t *testing.T) {
	for _, c := range []struct{ withIssuer, withExtra bool }{{false, false}, {true, false}, {true, true}, {false, true}} {
		withIssuer := c.withIssuer
		f := newFixture(t, func(d *Deps) {
			if withIssuer {
				d.Issuer = fakeIssuer{}
			}
			if c.withExtra {
				d.Extra = documentedExtras(t)
				d.Operator = &fakeOperator{}
			}
		})
		r := f.do("GET", "/swagger/docs/v1", "", "")
		if r.status != 200 || string(r.header.ContentType()) != "application/json" {
			t.Fatalf("status %d", r.status)
		}
		var doc struct {
			OpenAPI string                                `json:"openapi"`
			Servers []struct{ URL string }                `json:"servers"`
			Paths   map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(doc.OpenAPI, "3.0.") || len(doc.Servers) != 1 || doc.Servers[0].URL != publicURL {
			t.Fatalf("openapi %q servers %+v", doc.OpenAPI, doc.Servers)
		}
		routes := map[string]bool{}
		for _, rt := range f.api.Routes() {
			key := strings.ToLower(rt.Method) + " " + rt.Pattern
			routes[key] = true
			op, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]
			if !ok {
				t.Errorf("issuer=%v: route %s is not documented", withIssuer, key)
				continue
			}
			var o struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || len(o.Responses) == 0 {
				t.Errorf("%s: no responses", key)
			}
		}
		var documented []string
		for p, item := range doc.Paths {
			for m := range item {
				if strings.HasPrefix(m, "x-") {
					continue
				}
				documented = append(documented, m+" "+p)
				if !routes[m+" "+p] {
					t.Errorf("issuer=%v: documented %s %s is not a route", withIssuer, m, p)
				}
			}
		}
		sort.Strings(documented)
		if len(documented) != len(routes) {
			t.Errorf("issuer=%v: %d documented operations, %d routes", withIssuer, len(documented), len(routes))
		}
		if sse := string(doc.Paths["/stream/v1/streams/{stream}"]["get"]); !strings.Contains(sse, `"text/event-stream"`) {
			t.Errorf("SSE route is not a text/event-stream response: %s", sse)
		}
		checkRefs(t, r.body)
	}
}

// documentedExtras mounts a placeholder handler for every operation under a path marked
// "x-pushgate-extra" (engine/console checks its real routes against the document).
func documentedExtras(t *testing.T) []Extra {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	var out []Extra
	for p, item := range doc.Paths {
		if string(item["x-pushgate-extra"]) != "true" {
			continue
		}
		for m := range item {
			if !strings.HasPrefix(m, "x-") {
				out = append(out, Extra{Method: strings.ToUpper(m), Pattern: p, Handler: func(*fasthttp.RequestCtx) {}})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no x-pushgate-extra paths documented")
	}
	return out
}

func TestRouteTableHasEngineSSE(t *testing.T) {
	f := newFixture(t)
	var engine []string
	for _, rt := range f.api.Routes() {
		if rt.Engine {
			engine = append(engine, rt.Method+" "+rt.Pattern)
		}
	}
	if strings.Join(engine, ";") != "GET /stream/v1/streams/{stream}" {
		t.Fatalf("engine routes %v", engine)
	}
}

func checkRefs(t *testing.T, doc []byte) {
	t.Helper()
	var root map[string]any
	_ = json.Unmarshal(doc, &root)
	schemas := root["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/components/schemas/")
				if _, exists := schemas[name]; !found || !exists {
					t.Errorf("unresolved $ref %s", ref)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(root)
}
