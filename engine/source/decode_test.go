package source

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeEventValid(t *testing.T) {
	body := []byte(` {"namespace":"pdf-service","name":"pdf-generated","timestamp":"2026-01-02T04:04:05.6789+01:00",
		"correlationId":"job-1","context":{ "jobId" : "j", "n":1, "b":true, "z":null },
		"payload":{ "a" : [1, 2], "html":"<b>&</b>" },"tenantId":"acme","extra":1} `)
	in, err := DecodeEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	want := Incoming{Namespace: "pdf-service", Name: "pdf-generated",
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 678900000, time.UTC), CorrelationID: "job-1", TenantID: "acme"}
	if in.Namespace != want.Namespace || in.Name != want.Name || !in.Timestamp.Equal(want.Timestamp) ||
		in.CorrelationID != want.CorrelationID || in.TenantID != want.TenantID {
		t.Fatalf("got %+v", in)
	}
	if string(in.Context) != `{"jobId":"j","n":1,"b":true,"z":null}` || string(in.Payload) != `{"a":[1,2],"html":"<b>&</b>"}` {
		t.Fatalf("raw fields %s %s", in.Context, in.Payload)
	}
	for i := range body { // the result must not alias the request buffer
		body[i] = 'x'
	}
	if in.Namespace != "pdf-service" || string(in.Payload) != `{"a":[1,2],"html":"<b>&</b>"}` {
		t.Fatal("Incoming aliases body")
	}
}

func TestDecodeEventInvalid(t *testing.T) {
	deep := `{"namespace":"n","name":"x","timestamp":"2026-01-01T00:00:00Z","payload":` +
		strings.Repeat(`{"a":`, 32) + `1` + strings.Repeat(`}`, 32) + `}`
	okDepth := `{"namespace":"n","name":"x","timestamp":"2026-01-01T00:00:00Z","payload":` +
		strings.Repeat(`{"a":`, 31) + `"[[[{{{"` + strings.Repeat(`}`, 31) + `}`
	if _, err := DecodeEvent([]byte(okDepth)); err != nil {
		t.Fatalf("depth 32 rejected: %v", err)
	}
	const ts = `"timestamp":"2026-01-01T00:00:00Z"`
	tests := []struct {
		name, body, reason string
	}{
		{"malformed", `{"namespace":`, "not valid JSON"},
		{"trailing garbage", `{"namespace":"n","name":"x",` + ts + `,"payload":{}} x`, "not valid JSON"},
		{"array body", `[1]`, "JSON object"},
		{"empty", ``, "JSON object"},
		{"missing namespace", `{"name":"x",` + ts + `,"payload":{}}`, "namespace is required"},
		{"empty namespace", `{"namespace":"","name":"x",` + ts + `,"payload":{}}`, "namespace is required"},
		{"numeric namespace", `{"namespace":1,"name":"x",` + ts + `,"payload":{}}`, "namespace must be a string"},
		{"long name", `{"namespace":"n","name":"` + strings.Repeat("a", 51) + `",` + ts + `,"payload":{}}`, "at most 50"},
		{"missing name", `{"namespace":"n",` + ts + `,"payload":{}}`, "name is required"},
		{"missing timestamp", `{"namespace":"n","name":"x","payload":{}}`, "timestamp is required"},
		{"numeric timestamp", `{"namespace":"n","name":"x","timestamp":1700000000,"payload":{}}`, "timestamp must be a string"},
		{"bad timestamp", `{"namespace":"n","name":"x","timestamp":"yesterday","payload":{}}`, "ISO-8601"},
		{"bad month", `{"namespace":"n","name":"x","timestamp":"2026-13-01T00:00:00Z","payload":{}}`, "ISO-8601"},
		{"missing payload", `{"namespace":"n","name":"x",` + ts + `}`, "payload is required"},
		{"null payload", `{"namespace":"n","name":"x",` + ts + `,"payload":null}`, "payload is required"},
		{"array payload", `{"namespace":"n","name":"x",` + ts + `,"payload":[]}`, "payload must be an object"},
		{"string context", `{"namespace":"n","name":"x",` + ts + `,"payload":{},"context":"c"}`, "context must be an object"},
		{"nested context", `{"namespace":"n","name":"x",` + ts + `,"payload":{},"context":{"a":{"b":1}}}`, "context value"},
		{"numeric correlationId", `{"namespace":"n","name":"x",` + ts + `,"payload":{},"correlationId":5}`, "correlationId must be a string"},
		{"object tenantId", `{"namespace":"n","name":"x",` + ts + `,"payload":{},"tenantId":{}}`, "tenantId must be a string"},
		{"too deep", deep, "deeper than 32"},
		{"case-sensitive keys", `{"Namespace":"n","name":"x",` + ts + `,"payload":{}}`, "namespace is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tt.body))
			var ie *InvalidEventError
			if !errors.As(err, &ie) || !strings.Contains(ie.Reason, tt.reason) {
				t.Fatalf("err = %v, want reason containing %q", err, tt.reason)
			}
		})
	}
}

func TestDecodeEventTooLarge(t *testing.T) {
	body := `{"namespace":"n","name":"x","timestamp":"2026-01-01T00:00:00Z","payload":{"p":"` +
		strings.Repeat("a", MaxEventBytes) + `"}}`
	if _, err := DecodeEvent([]byte(body)); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical, "" = error
	}{
		{"2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.678Z"},
		{"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"},
		{"2026-01-02T03:04:05.6789999Z", "2026-01-02T03:04:05.678Z"},
		{"2026-01-02T05:04:05+02:00", "2026-01-02T03:04:05.000Z"},
		{"2026-01-02T03:04:05.1", "2026-01-02T03:04:05.100Z"},
		{"2026-01-02T03:04Z", "2026-01-02T03:04:00.000Z"},
		{"2026-01-02", "2026-01-02T00:00:00.000Z"},
		{"2026-01-02 03:04:05", ""},
		{"02/01/2026", ""},
		{"", ""},
		{"2026-01-02T25:00:00Z", ""},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseTimestamp(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format(TimestampLayout) != tt.want {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestEventJSON(t *testing.T) {
	const urn = "urn:ads:platform:tenant-service:v2:/tenants/0123456789abcdef01234567"
	tests := []struct {
		name, body, want string
	}{
		{"full", `{"payload":{"b":1},"context":{"k":"v"},"correlationId":"c-1","timestamp":"2026-01-02T03:04:05.678Z","name":"done","namespace":"svc"}`,
			`{"tenantId":"` + urn + `","namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05.678Z","correlationId":"c-1","context":{"k":"v"},"payload":{"b":1}}`},
		{"minimal", `{"namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05Z","payload":{},"correlationId":null,"context":null}`,
			`{"tenantId":"` + urn + `","namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05.000Z","payload":{}}`},
		{"escapes like JSON.stringify", `{"namespace":"a\"b\\c<>&","name":"\u0001\n\u2028é","timestamp":"2026-01-02T03:04:05Z","payload":{}}`,
			`{"tenantId":"` + urn + `","namespace":"a\"b\\c<>&","name":"\u0001\n` + "\u2028é" + `","timestamp":"2026-01-02T03:04:05.000Z","payload":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := DecodeEvent([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			ev := in.Event(urn)
			if string(ev.JSON) != tt.want {
				t.Fatalf("got  %s\nwant %s", ev.JSON, tt.want)
			}
			if ev.TenantID != urn || ev.ID != "" || ev.Timestamp.Location() != time.UTC {
				t.Fatalf("event fields %+v", ev)
			}
		})
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	if got := string(appendString(nil, "a\xffb")); got != `"a\ufffdb"` {
		t.Fatalf("got %s", got)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"namespace":"n","name":"x","timestamp":"2026-01-01T00:00:00Z","payload":{"a":[1]},"context":{"k":1}}`))
	f.Add([]byte(`{"namespace":"n","name":"x","timestamp":"2026-01-01","payload":{"s":"\"{["}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeEvent(body)
		if err != nil {
			return
		}
		js := in.Event("t").JSON
		if _, err := DecodeEvent(append(js[:0:0], js...)); err != nil {
			// the canonical form must itself be a valid ingest body (tenantId "t" is a string)
			t.Fatalf("canonical JSON %s does not decode: %v", js, err)
		}
	})
}

// plainString agrees with sonic wherever it answers.
func FuzzPlainString(f *testing.F) {
	for _, seed := range []string{`"order-placed"`, `"2026-01-02T03:04:05Z"`, `"a\"b"`, `"\u0041"`, `"é"`, `""`, `"`, `"a"b"`, "\"tab\there\""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := decodeAPI.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q; sonic: %q, %v", raw, got, want, err)
		}
	})
}
