package hub

import (
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/history"
	"github.com/pushgate/pushgate/engine/tracing"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// droppingSink refuses every item, as a closed or slow connection does.
type droppingSink struct{ recordingSink }

func (s *droppingSink) Deliver(*Item) (conn.Link, conn.Outcome) {
	s.add("drop")
	return nil, conn.DroppedSlow
}

// One span per event covers matching and the fan-out over every shard, with the figures
// (streams matched, subscribers targeted, delivered, dropped) and the event's traceparent as its
// parent; never a span per subscriber.
func TestFanoutSpanPerEvent(t *testing.T) {
	tr, rec := tracing.NewRecorder()
	reg := build(t, pubDoc)
	h := New(Config{Shards: 3, History: history.Config{Size: 10, Age: time.Hour}, Tracer: tr}, reg)
	defer h.Close()
	var sinks []*recordingSink
	for range 4 {
		sink := &recordingSink{}
		sinks = append(sinks, sink)
		h.Subscribe(newSub(t, reg, "s", sink), "", nil)
	}
	drop := &droppingSink{}
	sub := newSub(t, reg, "s", &drop.recordingSink)
	sub.Sink = drop
	h.Subscribe(sub, "", nil)

	ev := event("1-1", false)
	ev.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h.Publish(ev)
	other := event("1-2", false)
	other.Name = "unmatched"
	h.Publish(other)

	waitfor.Check(t, 5*time.Second, func() error {
		if n := len(rec.Ended()); n < 2 {
			return fmt.Errorf("%d spans ended, want 2 (one per event)", n)
		}
		return nil
	})
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per event: %+v", len(spans), spans)
	}
	var fan tracing.RecordedSpan
	for _, s := range spans {
		if s.Strings[tracing.AttrEventID] == "1-1" {
			fan = s
		}
	}
	if fan.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || fan.ParentSpanID != "00f067aa0ba902b7" {
		t.Errorf("fan-out span in trace %s under %s, want the event's traceparent", fan.TraceID, fan.ParentSpanID)
	}
	want := map[string]int64{tracing.AttrStreamsMatched: 1, tracing.AttrSubscribersTargeted: 5,
		tracing.AttrSubscribersDelivered: 4, tracing.AttrSubscribersDropped: 1}
	for k, v := range want {
		if fan.Ints[k] != v {
			t.Errorf("%s = %d, want %d (span %+v)", k, fan.Ints[k], v, fan.Ints)
		}
	}
}

// With tracing and the history off, an event costs nothing extra: its items carry no fan-out
// record.
func TestFanoutOffRecordsNothing(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 1, History: history.Config{Size: -1}}, reg)
	defer h.Close()
	ev := event("1-1", false)
	ev.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, it := range h.record(ev) {
		if it.fan != nil {
			t.Fatal("an item carries a fan-out record with tracing off")
		}
	}
}

// Each event's receipt says which streams it matched and how many subscribers it reached or was
// dropped for, summed over the shards; receipts are kept for the history window only.
func TestReceiptFigures(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 2, History: history.Config{Size: 2, Age: time.Hour}}, reg)
	defer h.Close()
	for range 3 {
		h.Subscribe(newSub(t, reg, "s", &recordingSink{}), "", nil)
	}
	drop := &droppingSink{}
	sub := newSub(t, reg, "s", &drop.recordingSink)
	sub.Sink = drop
	h.Subscribe(sub, "", nil)
	h.Publish(event("1-1", false))
	other := event("1-2", false)
	other.Name = "unmatched"
	h.Publish(other)
	var r *Receipt
	waitfor.True(t, 5*time.Second, "a complete receipt for 1-1", func() bool {
		var ok bool
		if r, ok = h.Receipt("1-1"); !ok {
			return false
		}
		_, _, _, done := r.Figures()
		return !done.IsZero()
	})
	if tg, dl, dr, _ := r.Figures(); tg != 4 || dl != 3 || dr != 1 || r.DroppedSlow() != 1 || len(r.Streams) != 1 || r.Streams[0] != "s" || r.Type() != "n:e" {
		t.Errorf("receipt %+v: targeted %d delivered %d dropped %d", r, tg, dl, dr)
	}
	if r, ok := h.Receipt("1-2"); !ok || len(r.Streams) != 0 {
		t.Errorf("unmatched event receipt %+v %v", r, ok)
	}
	h.Publish(event("1-3", false))
	if _, ok := h.Receipt("1-1"); ok {
		t.Error("a receipt outlived the history window (size 2)")
	}
}

// Each stream scope counts its subscriptions, deliveries and drops (the per-stream metrics).
func TestStreamStats(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 2, History: history.Config{Size: 10, Age: time.Hour}}, reg)
	defer h.Close()
	subs := []*Subscription{newSub(t, reg, "s", &recordingSink{}), newSub(t, reg, "s", &recordingSink{})}
	drop := &droppingSink{}
	d := newSub(t, reg, "s", &drop.recordingSink)
	d.Sink = drop
	subs = append(subs, d)
	for _, s := range subs {
		h.Subscribe(s, "", nil)
	}
	h.Publish(event("1-1", false))
	h.Publish(event("1-2", false))
	stats := func() (subs, del, drops int64) {
		h.EachStream(func(scope, stream string, st *StreamStats) {
			if scope == tenant && stream == "s" {
				subs, del, drops = st.Subscriptions.Load(), st.Deliveries.Load(), st.Drops.Load()
			}
		})
		return
	}
	waitfor.Check(t, 5*time.Second, func() error {
		if s, del, drops := stats(); s != 3 || del != 4 || drops != 2 {
			return fmt.Errorf("stream s: %d subscriptions, %d deliveries, %d drops; want 3, 4, 2", s, del, drops)
		}
		return nil
	})
	h.Unsubscribe(subs[0])
	if s, _, _ := stats(); s != 2 {
		t.Errorf("%d subscriptions after one left, want 2", s)
	}
}

// A delivery allocates nothing, with the receipt and the per-stream figures on and tracing off.
func TestDeliveryAllocatesNothing(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 1, History: history.Config{Size: 10, Age: time.Hour}}, reg)
	defer h.Close()
	for range 100 {
		h.Subscribe(newSub(t, reg, "s", &recordingSink{}), "", nil)
	}
	items := h.record(event("1-1", false))
	if len(items) != 1 || items[0].fan == nil {
		t.Fatalf("items %v", items)
	}
	sh := &shard{hub: h, byStream: map[string][]*Subscription{}, dirty: map[conn.Link]struct{}{}}
	var silent []*Subscription
	for range 100 {
		s := newSub(t, reg, "s", nil)
		s.Sink = countingSink{}
		silent = append(silent, s)
	}
	sh.byStream[items[0].Stream.Key()] = silent
	sh.deliverOne(items[0]) // warm the scratch slice and the stream's figures
	if n := testing.AllocsPerRun(100, func() { sh.deliverOne(items[0]) }); n != 0 {
		t.Errorf("deliverOne to 100 subscribers allocates %v", n)
	}
}

type countingSink struct{}

func (countingSink) Deliver(*Item) (conn.Link, conn.Outcome) { return nil, conn.Queued }
func (countingSink) End(conn.CloseReason)                    {}
