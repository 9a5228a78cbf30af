package store

import (
	"fmt"
	"testing"
	"time"
)

// A standalone store hands its orders to the hooks at once and keeps the ones with an end
// (revocations) across a restart, until they end; a replicated store publishes them instead.
func TestOrdersSurviveARestartUntilTheyEnd(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	var got []string
	s.OnOrder(func(v []byte) { got = append(got, string(v)) })
	if err := s.PublishOrder("a", []byte(`"disconnect"`), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishOrder("b", []byte(`"revoke-live"`), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishOrder("c", []byte(`"revoke-ended"`), time.Now().Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != `["disconnect" "revoke-live" "revoke-ended"]` {
		t.Fatalf("hooks got %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	got = nil
	s.OnOrder(func(v []byte) { got = append(got, string(v)) })
	if fmt.Sprint(got) != `["revoke-live"]` {
		t.Errorf("after a restart the hooks got %v, want only the revocation in force", got)
	}

	var replicated []Record
	r := openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error { replicated = append(replicated, rec); return nil }})
	fired := 0
	r.OnOrder(func([]byte) { fired++ })
	if err := r.PublishOrder("d", []byte(`"x"`), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if fired != 0 || len(replicated) != 1 || replicated[0].Kind != KindOrder || replicated[0].Key != "d" {
		t.Errorf("replicated store: fired %d, published %+v", fired, replicated)
	}
	if err := r.ApplyRemote(replicated[0]); err != nil || fired != 1 {
		t.Errorf("read back: %v, fired %d", err, fired)
	}
}
