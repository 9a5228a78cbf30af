package webhook

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// FuzzValidateDocument: any document is accepted or refused without a panic; an accepted one
// compiles into webhooks with an absolute http(s) URL and the key they are filed under.
func FuzzValidateDocument(f *testing.F) {
	for _, seed := range []string{
		`{"webhooks":{"h":{"id":"h","name":"H","url":"https://x.example/h","events":[{"namespace":"n","name":"e","criteria":{"context":{"k":"v"}}}]}}}`,
		`{"webhooks":{"a":{"id":"a","name":"A","url":"http://x/a","targetId":"app","eventTypes":[{"id":"status-service:monitored-service-down"}]}}}`,
		`{"webhooks":null}`, `{"webhooks":{"x":null}}`, `{"webhooks":{"b":{"id":"b","name":"B","url":"ftp://x"}}}`, `[]`, `null`, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if ValidateDocument(doc) != nil {
			return
		}
		hooks, err := parseDocument(doc)
		if err != nil {
			t.Fatalf("validated document does not parse: %v", err)
		}
		for _, h := range hooks {
			u, err := url.Parse(h.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("accepted webhook %q has URL %q", h.Key, h.URL)
			}
		}
		if _, err := compile(nil, map[string][]byte{tenantA: doc}); err != nil {
			t.Fatalf("validated document does not compile: %v", err)
		}
	})
}

// FuzzSealedSecret: whatever a store or topic holds, opening it never panics, and a sealed
// secret opens only with its key and endpoint.
func FuzzSealedSecret(f *testing.F) {
	f.Add("whsec_abc", "k", "ep")
	f.Add(sealedPrefix+"AAAA", "k", "ep")
	f.Fuzz(func(t *testing.T, secret, key, endpoint string) {
		s, err := newSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.open(secret, endpoint) // arbitrary stored bytes
		if s == nil || secret == "" {
			return
		}
		sealed := s.seal(secret, endpoint)
		if got, err := s.open(sealed, endpoint); err != nil || got != secret {
			t.Fatalf("round trip: %q, %v", got, err)
		}
		if _, err := s.open(sealed, endpoint+"x"); err == nil {
			t.Fatal("a sealed secret opened for another endpoint")
		}
	})
}

// FuzzParseEvent: for any event the sources build (context and payload any JSON object), the
// context and payload parseEvent takes are the ones encoding/json decodes.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte(`{"seq":1,"data":"x\"}"}`), "c-1")
	f.Add([]byte(`{}`), []byte(`{"context":{"payload":[1,{"}":"]"}]}}`), "")
	f.Add([]byte(nil), []byte(`{ "k" : [ true , null ] }`), "\u00e9")
	f.Fuzz(func(t *testing.T, context, payload []byte, correlationID string) {
		if !isObject(payload) || (len(context) > 0 && !isObject(context)) {
			return // the sources accept objects only (source.DecodeEvent)
		}
		if len(context) == 0 {
			context = nil // absent: the sources pass nil
		}
		js := source.AppendEventJSON(nil, tenantA, "demo", "ping", time.Unix(1, 0), correlationID, context, payload)
		var want eventParts
		if err := json.Unmarshal(js, &want); err != nil {
			t.Fatalf("the event JSON does not decode: %v", err)
		}
		got := parseEvent(&source.Event{JSON: js})
		if !bytes.Equal(got.Context, want.Context) || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("parseEvent(%s) = %s, %s; encoding/json: %s, %s", js, got.Context, got.Payload, want.Context, want.Payload)
		}
	})
}

func isObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}
