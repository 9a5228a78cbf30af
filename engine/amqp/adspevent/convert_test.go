package adspevent

import (
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/source"
)

const urn = "urn:ads:platform:tenant-service:v2:/tenants/61f0a3c2"

func resolveURN(ref string) (string, bool) { return urn, ref == urn || ref == "acme" }

func adspMessage() *rabbit.Message {
	return &rabbit.Message{
		RoutingKey: "pdf-service.pdf-generated." + urn,
		Headers: map[string]any{
			"namespace": "pdf-service", "name": "pdf-generated", "tenantId": urn, "correlationId": "job-1",
			"context": map[string]any{"jobId": "job-1"}, "timestamp": "2026-05-01T17:00:00.123Z",
			"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "extra": nil,
		},
		Body: []byte(`{"a": 1}`),
	}
}

func TestConvertKeepsExtraHeadersBeforePayload(t *testing.T) {
	ev, rej := Convert(adspMessage(), resolveURN)
	if rej != nil {
		t.Fatal(rej)
	}
	want := `{"tenantId":"` + urn + `","namespace":"pdf-service","name":"pdf-generated","timestamp":"2026-05-01T17:00:00.123Z","correlationId":"job-1","context":{"jobId":"job-1"},"extra":null,"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","payload":{"a":1}}`
	if string(ev.JSON) != want {
		t.Fatalf("got  %s\nwant %s", ev.JSON, want)
	}
}

func TestConvertRejectsByReason(t *testing.T) {
	cases := map[string]func(m *rabbit.Message){
		ReasonMissingTenant:  func(m *rabbit.Message) { delete(m.Headers, "tenantId") },
		ReasonUnknownTenant:  func(m *rabbit.Message) { m.Headers["tenantId"] = "urn:nobody" },
		ReasonInvalidBody:    func(m *rabbit.Message) { m.Body = []byte("{") },
		ReasonOversized:      func(m *rabbit.Message) { m.Body = []byte(`"` + strings.Repeat("a", source.MaxEventBytes) + `"`) },
		ReasonInvalidHeaders: func(m *rabbit.Message) { m.Headers["timestamp"] = "soon" },
	}
	for reason, spoil := range cases {
		m := adspMessage()
		spoil(m)
		if _, rej := Convert(m, resolveURN); rej == nil || rej.Reason != reason {
			t.Errorf("%s: got %v", reason, rej)
		}
	}
	deep := adspMessage()
	deep.Body = []byte(strings.Repeat("[", source.MaxEventDepth+1) + strings.Repeat("]", source.MaxEventDepth+1))
	if _, rej := Convert(deep, resolveURN); rej == nil || rej.Reason != ReasonInvalidBody {
		t.Errorf("deep body: got %v", rej)
	}
}

// The webhook event id is the same for a redelivery (any instance) and differs between events.
func TestStableID(t *testing.T) {
	a, b := adspMessage(), adspMessage()
	b.Redelivered = true
	b.Headers["x-delivery-count"] = int64(1) // added by a quorum queue on a redelivery
	if StableID(a) != StableID(b) || !strings.HasPrefix(StableID(a), "amqp-h") {
		t.Fatalf("hash ids %s %s", StableID(a), StableID(b))
	}
	b.Headers["timestamp"] = "2026-05-01T17:00:00.124Z"
	if StableID(a) == StableID(b) {
		t.Fatal("different events share an id")
	}
	a.MessageID = "0190d1f0-0000-7000-8000-000000000001"
	if StableID(a) != "amqp-0190d1f0-0000-7000-8000-000000000001" {
		t.Fatalf("message id: %s", StableID(a))
	}
}

// Encode publishes pushgate's own events so that Convert gives the same event back.
func TestEncodeConvertRoundTrip(t *testing.T) {
	in := &source.Incoming{Namespace: "cl", Name: "e", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC),
		CorrelationID: "c1", Context: []byte(`{"k":"v"}`), Payload: []byte(`{"seq":1}`)}
	ev := in.Event(urn)
	key, id, out, err := Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	m := &rabbit.Message{RoutingKey: key, MessageID: out.MessageID, Headers: out.Headers, Body: out.Body}
	back, rej := Convert(m, resolveURN)
	if rej != nil {
		t.Fatal(rej)
	}
	want := strings.Replace(string(ev.JSON), `,"payload"`, `,"id":"`+id+`","payload"`, 1)
	if string(back.JSON) != want || key != "cl.e."+urn || StableID(m) != "amqp-"+id {
		t.Fatalf("round trip\n got %s\nwant %s (key %s)", back.JSON, want, key)
	}
}
