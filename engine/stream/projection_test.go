package stream

import (
	"encoding/json"
	"testing"
)

func TestProjection(t *testing.T) {
	full := ev(tenantA, "pdf-service", "pdf-generated", "job-1", `{"jobId":"job-1","templateId":"t"}`,
		`{"jobId":"job-1","templateId":"t","file":"urn:f","items":[{"id":"i0"},{"id":"i1","tags":["x","y"]}],"a.b":"dotted","html":"<&>"}`)
	bare := ev(tenantA, "pdf-service", "pdf-generated", "", "", `{"jobId":"job-1"}`)
	base := `"tenantId":"` + tenantA + `","namespace":"pdf-service","name":"pdf-generated"`
	tests := []struct {
		name, entry string
		event       string // "full" or "bare"
		want        string // "" = the event JSON unchanged
	}{
		{"no map", `{}`, "full", ""},
		{"null map", `{"map":null}`, "full", ""},
		{"empty map is no map", `{"map":{}}`, "full", ""},
		{"ADSP pdf map", `{"map":{"timestamp":"timestamp","jobId":"payload.jobId","templateId":"payload.templateId","file":"payload.file"}}`, "full",
			`{` + base + `,"correlationId":"job-1","context":{"jobId":"job-1","templateId":"t"},"timestamp":"2026-01-02T03:04:05.678Z","jobId":"job-1","templateId":"t","file":"urn:f"}`},
		{"absent correlationId and context omitted", `{"map":{"jobId":"payload.jobId"}}`, "bare",
			`{` + base + `,"jobId":"job-1"}`},
		{"array and bracket paths", `{"map":{"first":"payload.items[0].id","second":"payload.items.1.id","tag":"payload.items[1].tags[1]","d":"payload[\"a.b\"]"}}`, "full",
			`{` + base + `,"correlationId":"job-1","context":{"jobId":"job-1","templateId":"t"},"first":"i0","second":"i1","tag":"y","d":"dotted"}`},
		{"unresolvable omitted", `{"map":{"x":"payload.nope","y":"payload.items[9]","z":"payload.jobId.deeper"}}`, "bare",
			`{` + base + `}`},
		{"overwrite base keeps position", `{"map":{"extra":"payload.jobId","name":"payload.jobId","tenantId":"payload.nope"}}`, "bare",
			`{"namespace":"pdf-service","name":"job-1","extra":"job-1"}`},
		{"map sets absent correlationId in base position", `{"map":{"x":"payload.jobId","correlationId":"payload.jobId"}}`, "bare",
			`{` + base + `,"correlationId":"job-1","x":"job-1"}`},
		{"integer keys first ascending", `{"map":{"b":"payload.jobId","10":"payload.jobId","2":"payload.jobId"}}`, "bare",
			`{"2":"job-1","10":"job-1",` + base + `,"b":"job-1"}`},
		{"duplicate map key keeps first position last path", `{"map":{"a":"payload.nope","b":"timestamp","a":"payload.jobId"}}`, "bare",
			`{` + base + `,"a":"job-1","b":"2026-01-02T03:04:05.678Z"}`},
		{"whole payload and html kept raw", `{"map":{"h":"payload.html"}}`, "full",
			`{` + base + `,"correlationId":"job-1","context":{"jobId":"job-1","templateId":"t"},"h":"<&>"}`},
		{"key needing escape", `{"map":{"<k\"ey>":"payload.jobId"}}`, "bare",
			`{` + base + `,"<k\"ey>":"job-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"s":{"id":"s","name":"S","events":[` + tt.entry[:len(tt.entry)-1] + sep(tt.entry) + `"namespace":"pdf-service","name":"pdf-generated"}]}}`
			r := mustBuild(t, "", map[string]string{tenantA: doc})
			e := full
			if tt.event == "bare" {
				e = bare
			}
			got := route(r, e)
			if len(got) != 1 {
				t.Fatalf("routed %d times, want 1", len(got))
			}
			want := tt.want
			if want == "" {
				want = string(e.JSON)
			}
			if got[0].item != want {
				t.Fatalf("item\n got %s\nwant %s", got[0].item, want)
			}
			if !json.Valid([]byte(got[0].item)) {
				t.Fatalf("invalid JSON %s", got[0].item)
			}
		})
	}
}

func sep(entry string) string {
	if entry == "{}" {
		return ""
	}
	return ","
}

func TestProjectionNoMapSharesEventBytes(t *testing.T) {
	r := mustBuild(t, "", map[string]string{tenantA: `{"s":{"id":"s","name":"S","events":[{"namespace":"n","name":"e"}]}}`})
	e := ev(tenantA, "n", "e", "", "", "")
	r.Route(e, func(_ *Stream, item []byte) {
		if &item[0] != &e.JSON[0] {
			t.Fatal("unmapped item should be ev.JSON itself")
		}
	})
}
