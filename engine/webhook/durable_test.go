package webhook

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/internal/waitfor"
)

func pingEvent(tenant string, n int) *source.Event {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := &source.Event{ID: fmt.Sprintf("1700000001-%d", n), TenantID: tenant, Namespace: "demo", Name: "ping", Timestamp: ts}
	ev.JSON = source.AppendEventJSON(nil, tenant, "demo", "ping", ts, "", nil, []byte(fmt.Sprintf(`{"n":%d}`, n)))
	return ev
}

// Track's wait returns once the event's delivery record is durable: in the journal (which reaches
// the store only when applied), or, without a journal, in the store. An event no
// webhook lists is not tracked.
func TestTrackWaitsForTheDurableRecord(t *testing.T) {
	t.Run("journal", func(t *testing.T) { testTrackWaitsForTheDurableRecord(t, true) })
	t.Run("store", func(t *testing.T) { testTrackWaitsForTheDurableRecord(t, false) })
}

func testTrackWaitsForTheDurableRecord(t *testing.T, journaled bool) {
	e := newEnv(t, func(c *Config) {
		if !journaled {
			c.Journal = ""
		}
	})
	r := newReceiver(t, 0) // hangs: the record stays pending
	e.configure(tenantA, hookDoc("h1", r.url))
	other := pingEvent(tenantA, 0)
	other.Name = "unlisted"
	if e.svc.Track(other) != nil {
		t.Fatal("an event no webhook lists was tracked")
	}
	ev := pingEvent(tenantA, 1)
	wait := e.svc.Track(ev)
	if wait == nil {
		t.Fatal("a listed event was not tracked")
	}
	e.svc.Observe(ev)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	stored, journaledRecs := len(storedDeliveries(t, e.st)), len(journaledEventRecords(t, e))
	if want := [2]int{1, 0}; journaled && [2]int{stored, journaledRecs} != [2]int{0, 1} || !journaled && [2]int{stored, journaledRecs} != want {
		t.Fatalf("when the wait returned: %d deliveries in the store, %d event records in the journal", stored, journaledRecs)
	}
	if journaled {
		if err := e.svc.applyJournal(); err != nil {
			t.Fatal(err)
		}
		if n := len(storedDeliveries(t, e.st)); n != 1 {
			t.Fatalf("%d deliveries in the store after the journal was applied; want 1", n)
		}
	}
	// An untracked publish failure, and Close, end waits with ErrNotRecorded.
	ev2 := pingEvent(tenantA, 2)
	w2 := e.svc.Track(ev2)
	e.svc.Untrack(ev2)
	if err := w2(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("untracked: %v", err)
	}
	w3 := e.svc.Track(pingEvent(tenantA, 3))
	e.close()
	if err := w3(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("after Close: %v", err)
	}
}

// A crash after the journal write and before the journal is applied to the store: the restart
// applies the journaled record and sends its delivery.
func TestJournaledRecordSurvivesACrashBeforeItsStoreCommit(t *testing.T) {
	e := newEnv(t, nil)
	r := newReceiver(t, 204)
	e.configure(tenantA, hookDoc("h1", r.url))
	ev := pingEvent(tenantA, 1)
	e.observeDurably(ev)
	// The process dies here: what is on disk is the store without the record, and the journal.
	before := r.hits.Load()
	after := e.restartFromJournal()
	waitfor.True(t, 5*time.Second, "the journaled delivery sent after the restart", func() bool { return r.hits.Load() > before })
	got := r.requests()
	if id := got[len(got)-1].id; id != deliveryID(ev.ID, endpointKey(tenantA, "h1")) {
		t.Fatalf("sent %s after the restart", id)
	}
	// Applied once: a second restart does not apply it again.
	after.close()
	after.open(nil)
	if recs := journaledEventRecords(t, after); len(recs) != 0 {
		t.Fatalf("%d journal records left after the replay", len(recs))
	}
}
