package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// The hand-written store record decodes to the same delivery as json.Marshal's.
func TestAppendRecordMatchesMarshal(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC)
	for _, d := range []*delivery{
		{ID: "msg_a", Endpoint: "urn:x\nhook", Body: json.RawMessage(`{"a":"<b>"}`), Created: now, Due: now.Add(time.Second)},
		{ID: "msg_b", Endpoint: "e", Body: json.RawMessage(`{}`), Attempts: 3, Created: now, Due: now, LastError: `HTTP "500"`,
			DeadAt: now, DeadReason: "attempts exhausted", Test: true, Seq: 1<<40 + 7, EventID: "1795627979000-3",
			Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			Trigger:     trigger{TenantID: "t", Namespace: "n", Name: "m", CorrelationID: "c\u2028", Context: json.RawMessage(`{"k":1}`)}},
	} {
		want, _ := json.Marshal(d)
		got := appendRecord(nil, d)
		var a, b delivery
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want, &b)
		ga, _ := json.Marshal(a)
		gb, _ := json.Marshal(b)
		if string(ga) != string(gb) {
			t.Fatalf("record\n%s\ndecodes differently from\n%s", got, want)
		}
	}
}

func TestAttemptRingKeepsTheNewest(t *testing.T) {
	r := attemptRing{keep: 3}
	for i := 1; i <= 5; i++ {
		r.add("e", Attempt{Attempt: i})
	}
	got := r.recent("e", 10)
	if len(got) != 3 || got[0].Attempt != 5 || got[1].Attempt != 4 || got[2].Attempt != 3 {
		t.Fatalf("recent %+v", got)
	}
	if got := r.recent("e", 2); len(got) != 2 || got[0].Attempt != 5 {
		t.Fatalf("limit 2: %+v", got)
	}
	r.forget("e")
	if r.recent("e", 10) != nil {
		t.Fatal("forgotten endpoint still has attempts")
	}
}

// Successful attempts live in memory only; failed ones are also stored, so after a restart the
// attempt log shows the failures, and a delivered record is removed from the store.
func TestOnlyFailedAttemptsArePersisted(t *testing.T) {
	e := newEnv(t, nil)
	r := newReceiver(t, 500)
	e.configure(tenantA, hookDoc("h1", r.url))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "a failed attempt", func() bool { return r.hits.Load() >= 1 })
	r.status.Store(204)
	waitfor.True(t, 5*time.Second, "delivered", func() bool { return e.svc.stats.delivered.Load() == 1 })
	att, _ := e.svc.Attempts(tenantA, "h1", 10)
	if a := att.([]Attempt); len(a) != 2 || a[0].Outcome != OutcomeSuccess || a[1].Outcome != OutcomeHTTP5xx {
		t.Fatalf("attempts before the restart %+v", a)
	}
	e.close()
	e.open(nil)
	e.configure(tenantA, hookDoc("h1", r.url))
	att, _ = e.svc.Attempts(tenantA, "h1", 10)
	if a := att.([]Attempt); len(a) != 1 || a[0].Outcome != OutcomeHTTP5xx {
		t.Fatalf("attempts after the restart %+v (only the failure is stored)", a)
	}
	if pending, _, _ := e.svc.gauges(); pending != 0 {
		t.Fatalf("%d deliveries pending after the restart: the delivered record was not removed", pending)
	}
}
