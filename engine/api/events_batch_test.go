package api

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// A JSON array and NDJSON are published in order, each event as a single POST would publish it.
func TestIngestBatch(t *testing.T) {
	for _, tt := range []struct{ name, contentType, body string }{
		{"json array", "application/json", "[" + event("") + ", " + event(`,"tenantId":"acme-corp"`) + "]"},
		{"ndjson", "application/x-ndjson; charset=utf-8", event("") + "\n\n" + event(`,"tenantId":"acme-corp"`) + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := serveType(f.api, "POST", "/event/v1/events", "acme-admin", tt.contentType, tt.body)
			if r.status != 200 {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			var ans struct{ IDs []string }
			if err := json.Unmarshal(r.body, &ans); err != nil || len(ans.IDs) != 2 || len(f.pub.events) != 2 {
				t.Fatalf("body %s, %d published", r.body, len(f.pub.events))
			}
			want := `{"tenantId":"` + f.acme.ID + `","namespace":"svc","name":"done","timestamp":"2026-01-02T03:04:05.678Z","correlationId":"c1","context":{"k":"v"},"payload":{"n":1}}`
			for i, ev := range f.pub.events {
				if ev.ID != ans.IDs[i] || string(ev.JSON) != want {
					t.Fatalf("event %d: id %s (answered %s) %s", i, ev.ID, ans.IDs[i], ev.JSON)
				}
			}
		})
	}
}

// Validation is all or nothing, and the 400 names the item and the field.
func TestIngestBatchErrors(t *testing.T) {
	many := "[" + strings.TrimSuffix(strings.Repeat(event("")+",", source.MaxBatchEvents+1), ",") + "]"
	for _, tt := range []struct {
		name, token, contentType, body string
		status                         int
		msg                            string
	}{
		{"second item lacks namespace", "acme-admin", "application/json", "[" + event("") + `,{"name":"x","timestamp":"2026-01-02T03:04:05Z","payload":{}}]`, 400, "events[1]: namespace is required"},
		{"ndjson bad line", "acme-admin", "application/x-ndjson", event("") + "\n" + event("") + "\n{", 400, "events[2]: "},
		{"ndjson item not an object", "acme-admin", "application/x-ndjson", `[1]`, 400, "events[0]: request body must be a JSON object"},
		{"item for another tenant", "acme-admin", "application/json", "[" + event("") + "," + event(`,"tenantId":"beta"`) + "]", 403, "events[1]: User is not permitted"},
		{"core item without tenant", "core-admin", "application/json", "[" + event(`,"tenantId":"beta"`) + "," + event("") + "]", 400, "events[1]: tenantId is required"},
		{"empty array", "acme-admin", "application/json", "[]", 400, "at least one event"},
		{"not an array of objects", "acme-admin", "application/json", `["x"]`, 400, "events[0]: "},
		{"malformed array", "acme-admin", "application/json", `[{"namespace":`, 400, "valid JSON array"},
		{"too many", "acme-admin", "application/json", many, 400, "at most " + strconv.Itoa(source.MaxBatchEvents)},
		{"no role", "acme-user", "application/json", "[" + event("") + "]", 403, "not permitted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			expectError(t, serveType(f.api, "POST", "/event/v1/events", tt.token, tt.contentType, tt.body), tt.status, tt.msg)
			if n := len(f.pub.events); n != 0 {
				t.Fatalf("%d events of a refused batch were published", n)
			}
		})
	}
}

// A queue that fills mid-batch: 503 + Retry-After, and the ids of the events accepted before it.
func TestIngestBatchOverloaded(t *testing.T) {
	f := newFixture(t)
	f.pub.refuseAfter = 2
	r := f.do("POST", "/event/v1/events", "acme-admin", "["+event("")+","+event("")+","+event("")+"]")
	var ans struct {
		ErrorMessage string
		IDs          []string
	}
	if err := json.Unmarshal(r.body, &ans); err != nil || r.status != 503 || len(ans.IDs) != 2 || !strings.Contains(ans.ErrorMessage, "events[2]") {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	if string(r.header.Peek("Retry-After")) != "1" {
		t.Fatalf("Retry-After %q", r.header.Peek("Retry-After"))
	}
}

// fakeDurable settles a tracked event ("done") on another goroutine a little later, as the
// webhook matcher does after the journal write, unless it was untracked meanwhile; an event that
// was never published is failed (as the webhook service's sweep does after trackTimeout).
type fakeDurable struct {
	mu                 sync.Mutex
	pub                *recordingPublisher
	err                error
	live               map[*source.Event]func(error)
	tracked, untracked int
	settled            atomic.Int32
	refuse             error // Track's refusal of events named "refused" (a full webhook backlog)
}

func (d *fakeDurable) Track(ev *source.Event, done func(error)) (bool, error) {
	if ev.Name == "refused" && d.refuse != nil {
		return false, d.refuse
	}
	if ev.Name != "done" {
		return false, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live == nil {
		d.live = map[*source.Event]func(error){}
	}
	d.live[ev] = done
	d.tracked++
	err := d.err
	time.AfterFunc(5*time.Millisecond, func() {
		d.mu.Lock()
		fn, ok := d.live[ev]
		delete(d.live, ev)
		d.mu.Unlock()
		if !ok {
			return
		}
		if !d.pub.holds(ev) {
			fn(errors.New("fake: never observed"))
			return
		}
		d.settled.Add(1)
		fn(err)
	})
	return true, nil
}

func (d *fakeDurable) Untrack(ev *source.Event) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.live[ev]
	delete(d.live, ev)
	if ok {
		d.untracked++
	}
	return ok
}

// The ingest answers after the event's webhook deliveries are durable, and 503 when they could
// not be recorded; a refused publish untracks.
func TestIngestWaitsForDurableWebhooks(t *testing.T) {
	d := &fakeDurable{}
	f := newFixture(t, func(deps *Deps) { deps.Durable = d })
	d.pub = f.pub
	if r := f.do("POST", "/event/v1/events", "acme-admin", event("")); r.status != 200 || d.settled.Load() != 1 {
		t.Fatalf("status %d, settled %d", r.status, d.settled.Load())
	}
	if r := f.do("POST", "/event/v1/events", "acme-admin", "["+event("")+","+event("")+"]"); r.status != 200 || d.settled.Load() != 3 {
		t.Fatalf("batch: status %d, settled %d", r.status, d.settled.Load())
	}
	d.err = errors.New("store failed")
	expectError(t, f.do("POST", "/event/v1/events", "acme-admin", event("")), 503, "could not be recorded")
	f.pub.err = source.ErrOverloaded
	f.do("POST", "/event/v1/events", "acme-admin", event(""))
	if d.untracked != 1 {
		t.Fatalf("a refused publish was not untracked (%d)", d.untracked)
	}
}

// A publish the bus answers as a repeat (same Idempotency-Key: the first id, nothing published)
// is answered at once with that id: the first request answers for the deliveries, and nothing
// would ever settle the repeat (before, it waited ten seconds and answered 503).
func TestRepeatedIngestDoesNotWaitForDurableWebhooks(t *testing.T) {
	d := &fakeDurable{}
	f := newFixture(t, func(deps *Deps) {
		deps.Durable = d
		deps.Publisher = repeatingPublisher{}
	})
	d.pub = f.pub
	r := f.do("POST", "/event/v1/events", "acme-admin", event(""))
	if r.status != 200 || !strings.Contains(string(r.body), `"first"`) || d.untracked != 1 {
		t.Fatalf("status %d body %s, untracked %d", r.status, r.body, d.untracked)
	}
}

// repeatingPublisher answers every publish as a repeat of a first one.
type repeatingPublisher struct{}

func (repeatingPublisher) Publish(*source.Event) (string, error) { return "first", nil }

// When an event's webhook deliveries could not be recorded, the 503 asks for the event again:
// its Idempotency-Key is forgotten by the publisher so that the retry is not dropped as a repeat
// (and its deliveries never recorded).
func TestNotRecordedForgetsTheIdempotencyKey(t *testing.T) {
	d := &fakeDurable{err: errors.New("store failed")}
	f := newFixture(t, func(deps *Deps) { deps.Durable = d })
	d.pub = f.pub
	r := serveWithHeader(f.api, "POST", "/event/v1/events", "acme-admin", event(""), "Idempotency-Key", "order-9")
	expectError(t, r, 503, "could not be recorded")
	f.pub.mu.Lock()
	defer f.pub.mu.Unlock()
	if len(f.pub.forgotten) != 1 || !strings.HasSuffix(f.pub.forgotten[0], "|order-9") {
		t.Fatalf("forgotten keys %q, want the request's", f.pub.forgotten)
	}
}

// An event the webhooks cannot take now (their backlog is full: Track's error) is answered 503
// with Retry-After and the reason, and is not published; in a batch, publishing stops at it and
// the answer keeps the ids of the events before it.
func TestFullWebhookBacklogRefusesBeforePublishing(t *testing.T) {
	d := &fakeDurable{refuse: errors.New("webhook backlog is full: 3 deliveries pending (--webhook-max-pending 3)")}
	f := newFixture(t, func(deps *Deps) { deps.Durable = d })
	d.pub = f.pub
	refused := strings.Replace(event(""), `"name":"done"`, `"name":"refused"`, 1)
	r := f.do("POST", "/event/v1/events", "acme-admin", refused)
	expectError(t, r, 503, "Event not published: webhook backlog is full: 3 deliveries pending")
	if ra := string(r.header.Peek("Retry-After")); ra != "30" {
		t.Fatalf("Retry-After = %q, want 30", ra)
	}
	if n := f.pub.count(); n != 0 {
		t.Fatalf("%d events published; a refused event must not be", n)
	}
	r = f.do("POST", "/event/v1/events", "acme-admin", "["+event("")+","+refused+","+event("")+"]")
	expectError(t, r, 503, "events[1]: not published: webhook backlog is full")
	if ids, _ := r.json(t)["ids"].([]any); len(ids) != 1 || string(r.header.Peek("Retry-After")) != "30" {
		t.Fatalf("batch: ids %v, Retry-After %q; want the first event's id and 30", ids, r.header.Peek("Retry-After"))
	}
	if n := f.pub.count(); n != 1 {
		t.Fatalf("batch: %d events published, want only the one before the refused event", n)
	}
	if d.settled.Load() != 1 {
		t.Fatalf("the accepted event of the batch was not waited for (%d settled)", d.settled.Load())
	}
}
