package webhook

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/internal/waitfor"
)

func TestEventRecordMatchesMarshal(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC)
	proto := &delivery{Body: json.RawMessage(`{"a":"<b>"}`), Created: now, EventID: "1795627979000-3",
		Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		Trigger:     trigger{TenantID: "t", Namespace: "n", Name: "m", CorrelationID: "c\u2028", Context: json.RawMessage(`{"k":1}`)}}
	bare := &delivery{Body: json.RawMessage(`{}`), Created: now, Trigger: trigger{TenantID: "t", Namespace: "n", Name: "m"}}
	for _, p := range []*delivery{proto, bare} {
		ds := []*delivery{p.forEndpoint("msg_a", "urn:x\nhook \"1\""), p.forEndpoint("msg_b", "core\nh2")}
		ds[0].Seq, ds[1].Seq = 7, 1<<40+8
		rec := eventRecord{Body: p.Body, Trigger: p.Trigger, Created: p.Created, Due: now.Add(time.Second),
			Traceparent: p.Traceparent, EventID: p.EventID,
			Deliveries: []eventDelivery{{"msg_a", "urn:x\nhook \"1\"", 7}, {"msg_b", "core\nh2", 1<<40 + 8}}}
		want, _ := json.Marshal(rec)
		got := appendEventRecord(nil, p, now.Add(time.Second), ds)
		if n := eventRecordSize(ds); len(got) > n {
			t.Fatalf("record of %d bytes, eventRecordSize said %d (one allocation)", len(got), n)
		}
		var a, b eventRecord
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want, &b)
		ga, _ := json.Marshal(a) // raw fields compared as encoding/json writes them
		gb, _ := json.Marshal(b)
		if string(ga) != string(gb) {
			t.Fatalf("record\n%s\ndecodes differently from\n%s", got, want)
		}
	}
}

func storedCount(t *testing.T, st *store.Store, b store.WebhookBucket) int {
	t.Helper()
	n := 0
	if err := st.EachWebhook(b, func(string, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// An event triggering three webhooks is one event record; deliveries that succeed never get a
// record of their own, a retried one does, and the event record goes once all three are settled.
func TestEventRecordHoldsAnEventsDeliveriesUntilSettled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Schedule = []time.Duration{0, time.Hour} })
	ok, failing := newReceiver(t, 204), newReceiver(t, 503)
	e.configure(tenantA, hookDoc("a", ok.url, "b", ok.url, "c", failing.url))
	ev := pingEvent(tenantA, 1)
	wait := e.track(ev)
	e.svc.Observe(ev)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.applyJournal(); err != nil { // the journaled record applied to the store
		t.Fatal(err)
	}
	if ev, own := storedCount(t, e.st, store.WebhookEvents), storedCount(t, e.st, store.WebhookPending); ev != 1 || own != 0 {
		t.Fatalf("recorded: %d event records, %d own records; want 1 and 0", ev, own)
	}
	if ids := storedDeliveries(t, e.st); len(ids) != 3 {
		t.Fatalf("stored deliveries %v, want 3", ids)
	}
	waitfor.True(t, 5*time.Second, "the event record removed, the retried delivery's own record kept", func() bool {
		e.svc.flushRetired()
		if err := e.svc.applyJournal(); err != nil {
			t.Fatal(err)
		}
		return storedCount(t, e.st, store.WebhookEvents) == 0 && storedCount(t, e.st, store.WebhookPending) == 1
	})
	if ids := storedDeliveries(t, e.st); !slices.Equal(ids, []string{deliveryID(ev.ID, endpointKey(tenantA, "c"))}) {
		t.Fatalf("stored deliveries %v, want only c's", ids)
	}
}

// After a crash, an event record's deliveries come back except those with a newer record of
// their own (loaded with their attempts) or a dead letter; delivered ones may come back (at
// least once).
func TestRestartLoadsEventRecordsUnlessOwnOrDead(t *testing.T) {
	schedule := func(c *Config) { c.Schedule = []time.Duration{0, time.Hour}; c.Timeout = time.Minute }
	e := newEnv(t, schedule)
	hang, failing, gone := newReceiver(t, 0), newReceiver(t, 503), newReceiver(t, 410)
	e.configure(tenantA, hookDoc("hang", hang.url, "retry", failing.url, "dead", gone.url))
	ev := e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "first attempts", func() bool {
		return hang.hits.Load() == 1 && failing.hits.Load() == 1 && gone.hits.Load() == 1 &&
			storedCount(t, e.st, store.WebhookPending) == 1 && storedCount(t, e.st, store.WebhookDead) == 1
	})
	e.close() // the hanging attempt is aborted: "hang" has only its event record
	e.open(schedule)
	e.svc.mu.Lock()
	got := map[string]int{}
	for _, d := range e.svc.pending {
		got[d.Endpoint] = d.Attempts
		if d.inflight { // "hang" is due at once: its attempt may have started since, counting one
			got[d.Endpoint]--
		}
	}
	e.svc.mu.Unlock()
	want := map[string]int{endpointKey(tenantA, "hang"): 0, endpointKey(tenantA, "retry"): 1} // as loaded
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pending after restart (endpoint: attempts) %v, want %v", got, want)
	}
	if ids := storedDeliveries(t, e.st); len(ids) != 2 || !slices.Contains(ids, deliveryID(ev.ID, endpointKey(tenantA, "hang"))) {
		t.Fatalf("stored deliveries %v", ids)
	}
}

// A delivery that succeeds while another of its event lags behind leaves a mark, so a crash does
// not send it again; the mark goes with the record.
func TestDeliveredWhileOthersLagIsNotSentAgain(t *testing.T) {
	long := func(c *Config) { c.Timeout = time.Minute }
	e := newEnv(t, long)
	ok, hang := newReceiver(t, 204), newReceiver(t, 0)
	e.configure(tenantA, hookDoc("ok", ok.url, "hang", hang.url))
	ev := e.publish(tenantA)
	hangID := deliveryID(ev.ID, endpointKey(tenantA, "hang"))
	waitfor.True(t, 5*time.Second, "only the lagging delivery left in the store", func() bool {
		e.svc.flushRetired() // the mark journaled
		if err := e.svc.applyJournal(); err != nil {
			t.Fatal(err)
		}
		ids := storedDeliveries(t, e.st)
		return ok.hits.Load() == 1 && len(ids) == 1 && ids[0] == hangID
	})
	e.close() // aborts the hanging attempt: a crash for the store's purposes
	hang.status.Store(204)
	e.open(long)
	waitfor.True(t, 5*time.Second, "the lagging delivery sent again", func() bool { return hang.hits.Load() == 2 })
	waitfor.True(t, 5*time.Second, "the record and its mark removed", func() bool {
		e.svc.flushRetired()
		if err := e.svc.applyJournal(); err != nil {
			t.Fatal(err)
		}
		return storedCount(t, e.st, store.WebhookEvents) == 0
	})
	if n := ok.hits.Load(); n != 1 {
		t.Fatalf("the delivered webhook got %d requests after the restart, want 1", n)
	}
}
