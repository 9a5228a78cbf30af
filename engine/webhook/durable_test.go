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
	if e.track(other) != nil {
		t.Fatal("an event no webhook lists was tracked")
	}
	ev := pingEvent(tenantA, 1)
	wait := e.track(ev)
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
	// Untrack takes a failed publish back (done is not called); Close ends the other waits with
	// ErrNotRecorded.
	ev2 := pingEvent(tenantA, 2)
	called := make(chan error, 1)
	if tracked, _ := e.svc.Track(ev2, func(err error) { called <- err }); !tracked || !e.svc.Untrack(ev2) {
		t.Fatal("a tracked event was not untracked")
	}
	if e.svc.Untrack(ev2) {
		t.Fatal("an event was untracked twice")
	}
	w3 := e.track(pingEvent(tenantA, 3))
	e.close()
	if err := w3(); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("after Close: %v", err)
	}
	select {
	case err := <-called:
		t.Fatalf("done of an untracked event was called (%v)", err)
	default:
	}
}

// A tracked event whose record never comes (it was never observed) is failed by the sweep after
// trackTimeout, once; Untrack then reports that done has run.
func TestTrackedEventTimesOut(t *testing.T) {
	e := newEnv(t, nil)
	r := newReceiver(t, 204)
	e.configure(tenantA, hookDoc("h1", r.url))
	ev := pingEvent(tenantA, 1)
	calls := make(chan error, 2)
	if tracked, _ := e.svc.Track(ev, func(err error) { calls <- err }); !tracked {
		t.Fatal("not tracked")
	}
	e.svc.expireTracked(time.Now().Add(trackTimeout - time.Second))
	if len(calls) != 0 {
		t.Fatal("done called before the timeout")
	}
	e.svc.expireTracked(time.Now().Add(trackTimeout))
	if err := <-calls; !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("timed out with %v", err)
	}
	if e.svc.Untrack(ev) {
		t.Fatal("Untrack after the timeout must report that done has run")
	}
	e.svc.Observe(ev) // recorded late: done is not called again
	e.svc.expireTracked(time.Now().Add(2 * trackTimeout))
	if err := waitfor.Bool(5*time.Second, func() bool { return len(r.requests()) == 1 }); err != nil {
		t.Fatal("the late event's delivery was not sent")
	}
	if len(calls) != 0 {
		t.Fatal("done called twice")
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
