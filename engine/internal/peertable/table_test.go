package peertable

import (
	"reflect"
	"testing"
	"time"
)

// TestTableAlive: a peer lives for missed of its own periods (the table's when it announced
// none) plus a second of slack, counted from when it was seen.
func TestTableAlive(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tab := New[string](2*time.Second, 3, func() time.Time { return now })
	for _, c := range []struct {
		name     string
		interval time.Duration
		age      time.Duration
		alive    bool
	}{
		{"just seen", time.Second, 0, true},
		{"own period, inside", time.Second, 3999 * time.Millisecond, true},
		{"own period, at the edge", time.Second, 4 * time.Second, false},
		{"table period, inside", 0, 6999 * time.Millisecond, true},
		{"table period, at the edge", 0, 7 * time.Second, false},
		{"negative period is the table's", -time.Second, 6 * time.Second, true},
	} {
		if got := tab.Alive(Peer[string]{Interval: c.interval, Seen: now.Add(-c.age)}); got != c.alive {
			t.Errorf("%s: alive = %v, want %v", c.name, got, c.alive)
		}
	}
}

// TestTableLookupLiveRemove: Lookup and Live see only the alive peers (Live in order of id),
// Get and Snapshot see them all, Remove forgets one.
func TestTableLookupLiveRemove(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tab := New[string](time.Second, 3, func() time.Time { return now })
	tab.Put("c", Peer[string]{Value: "c-addr", Seen: now})
	tab.Put("a", Peer[string]{Value: "a-addr", Seen: now.Add(-time.Second)})
	tab.Put("dead", Peer[string]{Value: "dead-addr", Seen: now.Add(-time.Minute)})

	if v, ok := tab.Lookup("a"); !ok || v != "a-addr" {
		t.Fatalf("Lookup(a) = %q, %v", v, ok)
	}
	if _, ok := tab.Lookup("dead"); ok {
		t.Fatal("Lookup found a dead peer")
	}
	if _, ok := tab.Lookup("unknown"); ok {
		t.Fatal("Lookup found an unknown peer")
	}
	if got := tab.Live(); !reflect.DeepEqual(got, []string{"a-addr", "c-addr"}) {
		t.Fatalf("Live = %q", got)
	}
	if p, ok := tab.Get("dead"); !ok || p.Value != "dead-addr" {
		t.Fatalf("Get(dead) = %+v, %v", p, ok)
	}
	if n := len(tab.Snapshot()); n != 3 {
		t.Fatalf("Snapshot has %d peers, want 3", n)
	}
	tab.Remove("a")
	if _, ok := tab.Lookup("a"); ok {
		t.Fatal("Lookup found a removed peer")
	}
	if got := tab.Live(); !reflect.DeepEqual(got, []string{"c-addr"}) {
		t.Fatalf("Live after Remove = %q", got)
	}
}
