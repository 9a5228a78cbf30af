package dedupe

import (
	"fmt"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	w := New(3, time.Minute)
	if first, rep := w.First("a", "p0:1", t0); rep || first != "p0:1" {
		t.Fatalf("first occurrence: %q %v", first, rep)
	}
	if first, rep := w.First("a", "p0:7", t0.Add(time.Second)); !rep || first != "p0:1" {
		t.Fatalf("repeat within the window: %q %v", first, rep)
	}
	// The first occurrence itself, read again (a re-read of the topic), is not a repeat.
	if _, rep := w.First("a", "p0:1", t0.Add(2*time.Second)); rep {
		t.Fatal("the first occurrence read again counted as a repeat")
	}
	// Older than MaxAge: new again.
	if _, rep := w.First("a", "p0:9", t0.Add(time.Minute+time.Second)); rep {
		t.Fatal("a key older than the window still counted")
	}
	// At most maxKeys: the oldest key goes first.
	for i := range 3 {
		w.First(fmt.Sprint("k", i), "v", t0.Add(2*time.Minute))
	}
	if w.Len() != 3 {
		t.Fatalf("Len %d, want 3", w.Len())
	}
	if _, ok := w.Lookup("a"); ok {
		t.Fatal("the oldest key was not pushed out by newer ones")
	}
	if _, rep := w.First("k2", "other", t0.Add(2*time.Minute)); !rep {
		t.Fatal("k2 forgotten")
	}
}
