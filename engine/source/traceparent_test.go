package source

import (
	"strings"
	"testing"
	"time"
)

func TestValidTraceparent(t *testing.T) {
	for s, want := range map[string]bool{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":        true,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00":        true,
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future": true,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x":      false, // version 00 has four fields
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":        false,
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01":        false,
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01":        false,
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01":        false,
		"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01":        false,
		"": false, "garbage": false,
	} {
		if got := ValidTraceparent(s); got != want {
			t.Errorf("ValidTraceparent(%q) = %v, want %v", s, got, want)
		}
	}
}

// The body's traceparent is kept in the event JSON (as ADSP keeps it in the item); a transport
// header replaces it; an invalid one in the body is a 400 naming the field.
func TestDecodeEventTraceparent(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const other = "00-11111111111111111111111111111111-2222222222222222-01"
	in, err := DecodeEvent([]byte(`{"namespace":"n","name":"e","timestamp":"2026-01-01T00:00:00Z","traceparent":"` + tp + `","payload":{"a":1}}`))
	if err != nil || in.Traceparent != tp {
		t.Fatalf("DecodeEvent: %+v, %v", in, err)
	}
	ev := in.Event("urn:t")
	if ev.Traceparent != tp || !strings.Contains(string(ev.JSON), `,"traceparent":"`+tp+`","payload":{"a":1}}`) {
		t.Errorf("event %q %s", ev.Traceparent, ev.JSON)
	}
	if in.SetTraceparent("nonsense") || in.Traceparent != tp {
		t.Errorf("an invalid header replaced the field")
	}
	if !in.SetTraceparent(other) || in.Event("urn:t").Traceparent != other {
		t.Errorf("a valid header does not win over the field")
	}
	for _, body := range []string{`"traceparent":"00-zz"`, `"traceparent":7`} {
		in, err := DecodeEvent([]byte(`{"namespace":"n","name":"e","timestamp":"2026-01-01T00:00:00Z",` + body + `,"payload":{}}`))
		if err != nil || !in.BadTraceparent || in.Traceparent != "" || strings.Contains(string(in.Event("urn:t").JSON), "traceparent") {
			t.Errorf("%s: %+v, %v; want the event without it, flagged", body, in, err)
		}
	}
	if !strings.Contains(ErrBadTraceparent.Reason, "traceparent") {
		t.Error("the ingest error does not name the field")
	}
	plain := AppendEventJSON(nil, "urn:t", "n", "e", time.Unix(0, 0), "", nil, []byte(`{}`))
	if strings.Contains(string(plain), "traceparent") {
		t.Errorf("untraced event JSON %s", plain)
	}
}
