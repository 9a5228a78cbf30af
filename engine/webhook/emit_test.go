package webhook

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
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

// Delivery ids are derived, not stored alone: a record written by an earlier version, or an event
// read again from Kafka, must yield the same id.
func TestDeliveryIDUnchanged(t *testing.T) {
	old := func(eventID, endpoint string) string {
		sum := sha256.Sum256([]byte(eventID + "\x00" + endpoint))
		return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:26]
	}
	for i := 0; i < 1000; i++ {
		ev, ep := fmt.Sprintf("%d-%d", 1795627979000+i, i%7), endpointKey(tenantA, strings.Repeat("h", i%300))
		if got, want := deliveryID(ev, ep), old(ev, ep); got != want {
			t.Fatalf("deliveryID(%q, %q) = %q, was %q", ev, ep, got, want)
		}
	}
}

// Pooled HMAC states sign as a fresh one does, for the current and the previous secret.
func TestPooledSignaturesMatchFresh(t *testing.T) {
	var m macs
	st := endpointState{}
	st.Secret, st.Previous = newSecret(), newSecret()
	ts := time.Unix(1795627979, 0)
	st.PreviousUntil = ts.Add(time.Hour)
	for i := 0; i < 5; i++ { // the second round on reused states
		body := []byte(fmt.Sprintf(`{"n":%d}`, i))
		pooled, err := st.signatures(&m, "msg_x", ts, body)
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := st.signatures(nil, "msg_x", ts, body)
		if pooled != fresh || !strings.HasPrefix(pooled, "v1,") || strings.Count(pooled, "v1,") != 2 {
			t.Fatalf("pooled %q, fresh %q", pooled, fresh)
		}
	}
}
