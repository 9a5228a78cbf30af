package stream

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateDocument(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
	}{
		{"empty", ``, ""},
		{"null", `null`, ""},
		{"empty object", `{}`, ""},
		{"core streams", string(CoreStreams()), ""},
		{"minimal stream", `{"s":{"id":"s","name":"S"}}`, ""},
		{"description null", `{"s":{"id":"s","name":"S","description":null}}`, ""},
		{"ids with space dash underscore", `{"a b-c_D9":{"id":"a b-c_D9","name":"S"}}`, ""},
		{"webhooks null", `{"webhooks":null,"s":{"id":"s","name":"S"}}`, ""},
		{"webhooks object", `{"webhooks":{"w":{"id":"w","name":"W","url":"https://x"},"x":null}}`, ""},
		{"full entry", `{"s":{"id":"s","name":"S","events":[{"namespace":"a","name":"b","map":{"x":"payload.x"},"criteria":{"correlationId":"c","context":{"n":1,"b":true,"s":"x"}}}]}}`, ""},
		{"map null criteria null", `{"s":{"id":"s","name":"S","events":[{"namespace":"a","name":"b","map":null,"criteria":null}]}}`, ""},
		{"not json", `{`, "not valid JSON"},
		{"array", `[]`, "must be a JSON object"},
		{"stream not object", `{"s":1}`, `stream "s": must be an object`},
		{"missing id", `{"s":{"name":"S"}}`, `stream "s": id: is required`},
		{"id mismatch", `{"s":{"id":"t","name":"S"}}`, `id: "t" must equal the stream's key`},
		{"bad id", `{"s/x":{"id":"s/x","name":"S"}}`, `key must match`},
		{"long id", `{"` + strings.Repeat("a", 51) + `":{"id":"x","name":"S"}}`, `key must match`},
		{"missing name", `{"s":{"id":"s"}}`, `name: is required`},
		{"name number", `{"s":{"id":"s","name":1}}`, `name: must be a string`},
		{"description number", `{"s":{"id":"s","name":"S","description":1}}`, `description: must be a string or null`},
		{"roles not strings", `{"s":{"id":"s","name":"S","subscriberRoles":[1]}}`, `subscriberRoles: must be an array of strings`},
		{"public not bool", `{"s":{"id":"s","name":"S","publicSubscribe":"yes"}}`, `publicSubscribe: must be a boolean`},
		{"events object", `{"s":{"id":"s","name":"S","events":{}}}`, `events: must be an array`},
		{"entry not object", `{"s":{"id":"s","name":"S","events":[1]}}`, `events[0]: must be an object`},
		{"entry no namespace", `{"s":{"id":"s","name":"S","events":[{"name":"b"}]}}`, `events[0]: namespace: is required`},
		{"map value number", `{"s":{"id":"s","name":"S","events":[{"namespace":"a","name":"b","map":{"x":1}}]}}`, `events[0]: map.x: must be a string path`},
		{"map array", `{"s":{"id":"s","name":"S","events":[{"namespace":"a","name":"b","map":[]}]}}`, `map: must be an object`},
		{"criteria string", `{"s":{"id":"s","name":"S","events":[{"namespace":"a","name":"b","criteria":"x"}]}}`, `criteria: must be an object`},
		{"criteria corr number", `{"s":{"id":"s","name":"S","events":[{"namespace":"a","name":"b","criteria":{"correlationId":1}}]}}`, `criteria.correlationId must be a string`},
		{"criteria context object value", `{"s":{"id":"s","name":"S","events":[{"namespace":"a","name":"b","criteria":{"context":{"x":{}}}}]}}`, `criteria.context.x must be a string, number or boolean`},
		{"webhooks string", `{"webhooks":"x"}`, `webhooks: must be an object or null`},
		{"webhook entry string", `{"webhooks":{"w":"x"}}`, `webhooks.w: must be an object or null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateDocument([]byte(tt.doc))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want containing %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("error %v does not wrap ErrInvalidDocument", err)
			}
		})
	}
}

func TestBuildInvalidDocuments(t *testing.T) {
	core := `{"core-s":{"id":"core-s","name":"Core"}}`
	r, err := Build([]byte(core), map[string][]byte{
		tenantA: []byte(`{"s":1}`),
		tenantB: []byte(`{"mine":{"id":"other","name":"Mismatched id is accepted by Build"}}`),
	})
	if err == nil || !errors.Is(err, ErrInvalidDocument) || !strings.Contains(err.Error(), tenantA) {
		t.Fatalf("err = %v, want invalid document naming tenant A", err)
	}
	if strings.Contains(err.Error(), tenantB) {
		t.Fatalf("tenant B should be valid for Build: %v", err)
	}
	if _, ok := r.Lookup(tenantA, "core-s"); !ok {
		t.Fatal("tenant with an invalid document should still see core streams")
	}
	if s, ok := r.Lookup(tenantB, "mine"); !ok || s.ID != "mine" {
		t.Fatalf("Build should key a mismatched id by its key, got %v %v", s, ok)
	}
	if _, err := Build([]byte(`[`), nil); err == nil {
		t.Fatal("invalid core document should be reported")
	}
}
