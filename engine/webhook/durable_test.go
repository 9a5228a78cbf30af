package webhook

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

func pingEvent(tenant string, n int) *source.Event {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := &source.Event{ID: fmt.Sprintf("1700000001-%d", n), TenantID: tenant, Namespace: "demo", Name: "ping", Timestamp: ts}
	ev.JSON = source.AppendEventJSON(nil, tenant, "demo", "ping", ts, "", nil, []byte(fmt.Sprintf(`{"n":%d}`, n)))
	return ev
}

// Track's wait returns once the event's delivery record is in the store; an event no webhook
// lists is not tracked.
func TestTrackWaitsForTheDurableRecord(t *testing.T) {
	e := newEnv(t, nil)
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
	if n := len(storedDeliveries(t, e.st)); n != 1 {
		t.Fatalf("%d deliveries recorded in the store when the wait returned", n)
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
