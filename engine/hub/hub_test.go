package hub

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/history"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/internal/waitfor"
)

const tenant = "urn:ads:platform:tenant-service:v2:/tenants/aaaaaaaaaaaaaaaaaaaaaaaa"

// recordingSink logs what reaches it, in order, with the OnStart acknowledgement.
type recordingSink struct {
	mu  sync.Mutex
	log []string
}

func (s *recordingSink) add(e string) {
	s.mu.Lock()
	s.log = append(s.log, e)
	s.mu.Unlock()
}

func (s *recordingSink) Deliver(*Item) (conn.Link, conn.Outcome) {
	s.add("item")
	return nil, conn.Queued
}
func (s *recordingSink) End(reason conn.CloseReason) { s.add("end:" + string(reason)) }

func (s *recordingSink) events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func build(t *testing.T, doc string) *stream.Registry {
	t.Helper()
	reg, err := stream.Build(nil, map[string][]byte{tenant: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func newSub(t *testing.T, reg *stream.Registry, id string, sink *recordingSink) *Subscription {
	t.Helper()
	s, ok := reg.Lookup(tenant, id)
	if !ok {
		t.Fatalf("stream %q not in the registry", id)
	}
	return &Subscription{
		Stream: s.Key(), StreamID: id, Scope: tenant, Principal: auth.AnonymousPrincipal, Sink: sink,
		OnStart: func() { sink.add("start") },
	}
}

const pubDoc = `{"s":{"id":"s","name":"S","publicSubscribe":true,"events":[{"namespace":"n","name":"e"}]}}`

// A subscription authorised against a registry that was replaced before it registered (the
// stream was deleted in between) is ended right after its acknowledgement, not left listening
// to a stream that no longer exists.
func TestSubscribeAfterStreamDeletedEnds(t *testing.T) {
	old := build(t, pubDoc)
	h := New(Config{Shards: 2}, old)
	defer h.Close()
	sink := &recordingSink{}
	sub := newSub(t, old, "s", sink)
	h.SetRegistry(build(t, `{}`))
	h.Subscribe(sub, "", nil)
	if got := sink.events(); len(got) != 2 || got[0] != "start" || got[1] != "end:stream-deleted" {
		t.Fatalf("sink saw %v, want [start end:stream-deleted]", got)
	}
	if n := h.Stats.Subs.Load(); n != 0 {
		t.Fatalf("%d subscriptions left in the hub, want 0", n)
	}
}

// A configuration change ends each affected subscription once, after its acknowledgement, and
// a subscription its client already left is not ended at all.
func TestSetRegistryEndsOnce(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 2}, reg)
	defer h.Close()
	live, left := &recordingSink{}, &recordingSink{}
	liveSub, leftSub := newSub(t, reg, "s", live), newSub(t, reg, "s", left)
	h.Subscribe(liveSub, "", nil)
	h.Subscribe(leftSub, "", nil)
	h.Unsubscribe(leftSub)
	empty := build(t, `{}`)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); h.SetRegistry(empty) }()
	}
	wg.Wait()
	if got := live.events(); len(got) != 2 || got[1] != "end:stream-deleted" {
		t.Fatalf("live subscriber saw %v, want [start end:stream-deleted]", got)
	}
	if got := left.events(); len(got) != 1 {
		t.Fatalf("departed subscriber saw %v, want only [start]", got)
	}
}

// Revoking the permission ends with its own reason.
func TestSetRegistryPermissionRevoked(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 1}, reg)
	defer h.Close()
	sink := &recordingSink{}
	h.Subscribe(newSub(t, reg, "s", sink), "", nil)
	h.SetRegistry(build(t, `{"s":{"id":"s","name":"S","subscriberRoles":["r"],"events":[{"namespace":"n","name":"e"}]}}`))
	if got := sink.events(); len(got) != 2 || got[1] != "end:permission-revoked" {
		t.Fatalf("sink saw %v, want [start end:permission-revoked]", got)
	}
}

func event(id string, backlog bool) *source.Event {
	return &source.Event{ID: id, TenantID: tenant, Namespace: "n", Name: "e", Backlog: backlog,
		JSON: []byte(`{"tenantId":"` + tenant + `","namespace":"n","name":"e","timestamp":"2026-01-01T00:00:00.000Z","payload":{"id":"` + id + `"}}`)}
}

// Backlog events (a new worker's inheritance) fill the replay history without reaching anyone
// live; a subscriber resuming from one of them gets the rest replayed.
func TestBacklogIsRecordedNotDelivered(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 1, History: history.Config{Size: 100, Age: time.Hour}}, reg)
	defer h.Close()
	live := &recordingSink{}
	h.Subscribe(newSub(t, reg, "s", live), "", nil)
	for _, id := range []string{"b1", "b2", "b3"} {
		h.Publish(event(id, true))
	}
	h.Publish(event("l1", false))
	resumed := &recordingSink{}
	if !h.Subscribe(newSub(t, reg, "s", resumed), "b1", nil) {
		t.Fatal("resume from a backlog id found no history")
	}
	h.Publish(event("l2", false))
	// A timeout is reported by the checks below, which show what each subscriber saw.
	_ = waitfor.Bool(2*time.Second, func() bool { return len(live.events()) >= 3 && len(resumed.events()) >= 4 })
	if got := live.events(); fmt.Sprint(got) != "[start item item]" {
		t.Fatalf("live subscriber saw %v, want only the two live events", got)
	}
	if got := resumed.events(); fmt.Sprint(got) != "[start item item item item]" {
		t.Fatalf("resumed subscriber saw %v, want b2 b3 l1 replayed, then l2", got)
	}
}
