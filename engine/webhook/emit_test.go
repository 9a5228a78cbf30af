package webhook

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestTriggeredPayloadMatchesMarshal(t *testing.T) {
	corr, date, code := "c-<1>\u2028", "Sun, 06 Dec 2026 21:00:00 GMT", 503
	full := triggeredPayload{ResponseTime: 12, WebhookID: "h\n1", DeliveryID: "msg_a", Attempt: 3, Outcome: OutcomeHTTP5xx}
	full.Webhook.Name, full.Webhook.URL, full.Webhook.TargetID = "Hook \"1\"", "https://u:p@x.example/h?a=1&b=2", "app-1"
	full.Trigger.Namespace, full.Trigger.Name, full.Trigger.CorrelationID = "form-service", "form-submitted", &corr
	full.Trigger.Context = json.RawMessage(`{"definitionId":"d1"}`)
	full.Response.Status, full.Response.StatusCode, full.Response.Timestamp = "Service Unavailable", &code, &date
	bare := triggeredPayload{ResponseTime: 15000, DeliveryID: "msg_b", Attempt: 1, Outcome: OutcomeTimeout}
	bare.Response.Status = OutcomeTimeout
	for _, p := range []triggeredPayload{full, bare} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got := p.appendJSON(nil)
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("hand-written\n%s\ndecodes differently from encoding/json's\n%s", got, want)
		}
	}
}
