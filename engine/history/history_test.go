package history

import (
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

func ev(i int) *source.Event { return &source.Event{ID: fmt.Sprintf("e-%d", i)} }

func TestAfterReturnsMissedEventsInOrder(t *testing.T) {
	h := New(Config{Size: 5})
	now := time.Now()
	for i := 1; i <= 4; i++ {
		h.Add(uint64(i), ev(i), now)
	}
	got, ok := h.After("e-2", 4, now)
	if !ok || len(got) != 2 || got[0].Event.ID != "e-3" || got[1].Event.ID != "e-4" {
		t.Fatalf("After(e-2) = %v, %v", got, ok)
	}
	got, ok = h.After("e-2", 3, now)
	if !ok || len(got) != 1 {
		t.Fatalf("After bounded by upTo = %v, %v", got, ok)
	}
	got, ok = h.After("e-4", 4, now)
	if !ok || len(got) != 0 {
		t.Fatalf("After(latest) = %v, %v", got, ok)
	}
}

func TestEvictionMakesAGap(t *testing.T) {
	h := New(Config{Size: 3})
	now := time.Now()
	for i := 1; i <= 5; i++ {
		h.Add(uint64(i), ev(i), now)
	}
	if h.Len() != 3 {
		t.Fatalf("Len = %d", h.Len())
	}
	if _, ok := h.After("e-1", 5, now); ok {
		t.Fatal("evicted id must be a gap")
	}
	if _, ok := h.After("unknown", 5, now); ok {
		t.Fatal("unknown id must be a gap")
	}
	if got, ok := h.After("e-3", 5, now); !ok || len(got) != 2 {
		t.Fatalf("After(e-3) = %v %v", got, ok)
	}
}

func TestAgeMakesAGap(t *testing.T) {
	h := New(Config{Size: 10, Age: time.Minute})
	t0 := time.Now()
	h.Add(1, ev(1), t0)
	h.Add(2, ev(2), t0.Add(2*time.Minute))
	if _, ok := h.After("e-1", 2, t0.Add(2*time.Minute)); ok {
		t.Fatal("an id older than Age must be a gap")
	}
}

func TestDisabled(t *testing.T) {
	h := New(Config{Size: -1})
	h.Add(1, ev(1), time.Now())
	if _, ok := h.After("e-1", 1, time.Now()); ok {
		t.Fatal("disabled history has no window")
	}
}
