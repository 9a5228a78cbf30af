package webhook

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

func TestValidateDocumentNamesTheField(t *testing.T) {
	ok := []string{
		``, `null`, `{}`, `{"webhooks":null}`, `{"webhooks":{"a":null}}`,
		`{"s":{"id":"s"},"webhooks":{"hook-1":{"id":"hook-1","name":"Hook 1","url":"https://x.example/h","description":null,"extra":1,
		  "events":[{"namespace":"form-service","name":"form-submitted","map":{"x":"payload.x"},"criteria":{"context":{"definitionId":"d1"}}}]},
		  "app-down":{"id":"app-down","name":"App down","url":"http://x.example/s","targetId":"my-app","intervalMinutes":5,"eventTypes":[{"id":"status-service:monitored-service-down"}]}}}`,
	}
	for _, d := range ok {
		if err := ValidateDocument([]byte(d)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	bad := map[string]string{
		`{"webhooks":[]}`: "webhooks: must be an object or null",
		`{"webhooks":{"h":{"name":"n","url":"http://x"}}}`:                                                                                  "webhooks.h.id: is required",
		`{"webhooks":{"h":{"id":"h","url":"http://x"}}}`:                                                                                    "webhooks.h.name: is required",
		`{"webhooks":{"h":{"id":"h","name":"n"}}}`:                                                                                          "webhooks.h.url: is required",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"ftp://x"}}}`:                                                                          "webhooks.h.url: must be an absolute http:// or https:// URL",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"/relative"}}}`:                                                                        "webhooks.h.url: must be an absolute",
		`{"webhooks":{"h":{"id":1,"name":"n","url":"http://x"}}}`:                                                                           "webhooks.h.id: must be a string",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","events":{}}}}`:                                                             "webhooks.h.events: must be an array or null",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","events":[{"name":"x"}]}}}`:                                                 "webhooks.h.events[0].namespace: is required",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","events":[{"namespace":"a"}]}}}`:                                            "webhooks.h.events[0].name: is required",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","targetId":3}}}`:                                                            "webhooks.h.targetId: must be a string",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","eventTypes":[{"id":"nocolon"}]}}}`:                                         "webhooks.h.eventTypes[0].id: must be",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","intervalMinutes":"5"}}}`:                                                   "webhooks.h.intervalMinutes: must be a number",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","rateLimit":0}}}`:                                                           "webhooks.h.rateLimit: must be a number of attempts per second, above 0",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","rateLimit":"5"}}}`:                                                         "webhooks.h.rateLimit: must be a number",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","rateLimit":1e9}}}`:                                                         "webhooks.h.rateLimit: must be a number",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","ordered":"yes"}}}`:                                                         "webhooks.h.ordered: must be a boolean",
		`{"webhooks":{"bad/key":{"id":"h","name":"n","url":"http://x"}}}`:                                                                   "webhooks.bad/key.key: must match",
		`{"webhooks":{"h":{"id":"h","name":"n","url":"http://x","events":[{"namespace":"a","name":"b","criteria":{"context":{"x":{}}}}]}}}`: "webhooks.h.events[0].criteria: context.x must be a string",
	}
	for d, want := range bad {
		err := ValidateDocument([]byte(d))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want …%s…", d, err, want)
		}
	}
}

func testEvent(tenant, ns, name, corr, context, payload string) *source.Event {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	var ctx []byte
	if context != "" {
		ctx = []byte(context)
	}
	return &source.Event{ID: "1-1", TenantID: tenant, Namespace: ns, Name: name, Timestamp: ts, CorrelationID: corr,
		JSON: source.AppendEventJSON(nil, tenant, ns, name, ts, corr, ctx, []byte(payload))}
}

func TestTriggerRules(t *testing.T) {
	const other = "urn:ads:platform:tenant-service:v2:/tenants/bbbbbbbbbbbbbbbbbbbbbbbb"
	tenantDoc := `{"webhooks":{
	  "generic":{"id":"g","name":"G","url":"http://x","events":[{"namespace":"form-service","name":"form-submitted","criteria":{"correlationId":"c1","context":{"definitionId":"d1","n":1}}}]},
	  "any-ping":{"id":"p","name":"P","url":"http://x","events":[{"namespace":"demo","name":"ping"}]},
	  "loop":{"id":"l","name":"L","url":"http://x","events":[{"namespace":"push-service","name":"webhook-triggered"}]},
	  "app":{"id":"a","name":"A","url":"http://x","targetId":"my-app","events":[{"namespace":"demo","name":"ping"}],"eventTypes":[{"id":"status-service:monitored-service-down"}]}}}`
	coreDoc := `{"webhooks":{"core-ping":{"id":"cp","name":"CP","url":"http://x","events":[{"namespace":"demo","name":"ping"}]}}}`
	s, err := compile([]byte(coreDoc), map[string][]byte{tenantA: []byte(tenantDoc)})
	if err != nil {
		t.Fatal(err)
	}
	keys := func(ev *source.Event) string {
		var ks []string
		for _, sc := range s.match(ev) {
			ks = append(ks, sc.Hook.Key)
		}
		return strings.Join(ks, ",")
	}
	cases := []struct {
		ev   *source.Event
		want string
	}{
		{testEvent(tenantA, "form-service", "form-submitted", "c1", `{"definitionId":"d1","n":1,"more":true}`, `{}`), "generic"},
		{testEvent(tenantA, "form-service", "form-submitted", "c2", `{"definitionId":"d1","n":1}`, `{}`), ""},   // correlationId differs
		{testEvent(tenantA, "form-service", "form-submitted", "c1", `{"definitionId":"d1","n":"1"}`, `{}`), ""}, // "1" !== 1
		{testEvent(tenantA, "form-service", "form-submitted", "c1", ``, `{}`), ""},                              // no context
		{testEvent(tenantA, "Form-service", "form-submitted", "c1", `{"definitionId":"d1","n":1}`, `{}`), ""},   // case-sensitive
		{testEvent(tenantA, "demo", "ping", "", ``, `{}`), "core-ping,any-ping"},                                // app ignores events[]
		{testEvent(other, "demo", "ping", "", ``, `{}`), "core-ping"},                                           // tenant scope
		{testEvent(tenantA, "push-service", "webhook-triggered", "", ``, `{}`), ""},                             // never
		{testEvent(tenantA, "status-service", "monitored-service-down", "", ``, `{"application":{"appKey":"my-app"}}`), "app"},
		{testEvent(tenantA, "status-service", "monitored-service-down", "", ``, `{"application":{"id":"my-app"}}`), "app"},
		{testEvent(tenantA, "status-service", "monitored-service-down", "", ``, `{"application":{"appKey":"other"}}`), ""},
		{testEvent(tenantA, "status-service", "monitored-service-up", "", ``, `{"application":{"appKey":"my-app"}}`), ""},
	}
	for i, c := range cases {
		if got := keys(c.ev); got != c.want {
			t.Errorf("case %d (%s:%s): got %q, want %q", i, c.ev.Namespace, c.ev.Name, got, c.want)
		}
	}
}

func TestBodyIsADSPs(t *testing.T) {
	ev := testEvent(tenantA, "form-service", "form-submitted", "c1", `{"definitionId":"d1"}`, `{"a":[1,2]}`)
	got := string(appendBody(nil, ev))
	want := `{"namespace":"form-service","name":"form-submitted","tenantId":{"type":"resource","namespace":"platform","service":"tenant-service","api":"v2","resource":"/tenants/aaaaaaaaaaaaaaaaaaaaaaaa"},"correlationId":"c1","context":{"definitionId":"d1"},"timestamp":"2026-01-02T03:04:05.678Z","payload":{"a":[1,2]}}`
	if got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("invalid JSON")
	}
	bare := string(appendBody(nil, testEvent(tenantA, "a", "b", "", "", `{}`)))
	if strings.Contains(bare, "correlationId") || strings.Contains(bare, "context") {
		t.Fatalf("absent fields present: %s", bare)
	}
	if a, b := deliveryID("1-1", "k"), deliveryID("1-1", "k"); a != b || len(a) != 30 || strings.Contains(a, ".") {
		t.Fatalf("delivery ids %q %q", a, b)
	}
	if deliveryID("1-1", "k") == deliveryID("1-2", "k") || deliveryID("1-1", "k") == deliveryID("1-1", "j") {
		t.Fatal("delivery ids collide")
	}
}

// Observe runs on the hub's goroutine for every event: an event no webhook lists costs no
// allocation (the index is not keyed by a "<namespace>:<name>" string built per event).
func TestObserveOfAnUnlistedEventAllocatesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.configure(tenantA, hookDoc("h", "http://127.0.0.1:1/hook"))
	ev := &source.Event{ID: "1-1", TenantID: tenantA, Namespace: "configuration-service", Name: "configuration-updated-elsewhere"}
	if n := testing.AllocsPerRun(1000, func() { e.svc.Observe(ev) }); n != 0 {
		t.Fatalf("Observe of an unlisted event: %v allocations, want 0", n)
	}
}
