package hub

import (
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/history"
	"github.com/pushgate/pushgate/engine/tracing"
)

// droppingSink refuses every item, as a closed or slow connection does.
type droppingSink struct{ recordingSink }

func (s *droppingSink) Deliver(*Item) (conn.Link, bool) { s.add("drop"); return nil, false }

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

	deadline := time.Now().Add(5 * time.Second)
	for len(rec.Ended()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d spans ended, want 2 (one per event)", len(rec.Ended()))
		}
		time.Sleep(5 * time.Millisecond)
	}
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

// With tracing off, a traced event costs nothing extra: its items carry no fan-out record.
func TestFanoutOffRecordsNothing(t *testing.T) {
	reg := build(t, pubDoc)
	h := New(Config{Shards: 1, History: history.Config{Size: 10, Age: time.Hour}}, reg)
	defer h.Close()
	ev := event("1-1", false)
	ev.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, it := range h.record(ev) {
		if it.fan != nil {
			t.Fatal("an item carries a fan-out record with tracing off")
		}
	}
}
