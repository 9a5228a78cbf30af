package store

import (
	"fmt"
	"sync"
	"testing"
)

func TestWebhookOutboxPersistsAndTrims(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent writers are coalesced by bbolt's Batch; every one must land.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.WriteWebhooks(WebhookBatch{Puts: []WebhookPut{{Bucket: WebhookPending, Key: fmt.Sprintf("msg_%02d", i), Value: []byte(fmt.Sprint(i))}}})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	var atts []WebhookAttempt
	for i := 0; i < 7; i++ {
		atts = append(atts, WebhookAttempt{Endpoint: "t\nhook-a", Value: []byte(fmt.Sprint("a", i))})
	}
	atts = append(atts, WebhookAttempt{Endpoint: "t\nhook-b", Value: []byte("b0")})
	if err := s.WriteWebhooks(WebhookBatch{Attempts: atts, KeepAttempts: 5,
		Puts: []WebhookPut{{Bucket: WebhookPending, Key: "msg_00"}, {Bucket: WebhookDead, Key: "msg_00", Value: []byte("dead")}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	n := 0
	if err := s.EachWebhook(WebhookPending, func(k string, v []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 19 {
		t.Fatalf("pending after reopen = %d, want 19", n)
	}
	if v, _ := s.GetWebhook(WebhookDead, "msg_00"); string(v) != "dead" {
		t.Fatalf("dead = %q", v)
	}
	if v, _ := s.GetWebhook(WebhookPending, "msg_00"); v != nil {
		t.Fatalf("deleted pending still there: %q", v)
	}
	log, err := s.WebhookAttemptLog("t\nhook-a", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range log {
		got = append(got, string(v))
	}
	if fmt.Sprint(got) != "[a6 a5 a4 a3 a2]" {
		t.Fatalf("attempt log = %v, want newest 5 first", got)
	}
	if log, _ := s.WebhookAttemptLog("t\nhook-b", 10); len(log) != 1 || string(log[0]) != "b0" {
		t.Fatalf("hook-b log = %q", log)
	}
	if log, _ := s.WebhookAttemptLog("t\nhook", 10); len(log) != 0 {
		t.Fatalf("a prefix of another endpoint's key sees its attempts: %q", log)
	}
}
