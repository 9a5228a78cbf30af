package store

import (
	"testing"
	"time"
)

func drainWebhook(s *Store) bool {
	select {
	case <-s.WebhookStateChanges():
		return true
	default:
		return false
	}
}

// Documents and webhook state are separate inputs: the stream registry is compiled from
// documents and tenants only, so a webhook state write (a secret created, rotated, an endpoint
// disabled, a confirmation read back) must not make every consumer of documents rebuild.
func TestWebhookStateChangesAreNotDocumentChanges(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	drain(s)
	rev := s.Revision()
	if err := s.PutWebhookState(epKey, 1, []byte(`{"secret":"whsec_a"}`)); err != nil {
		t.Fatal(err)
	}
	if drain(s) || s.Revision() != rev {
		t.Fatal("a webhook state write fired a document change")
	}
	if !drainWebhook(s) {
		t.Fatal("a webhook state write fired no webhook state change")
	}
	if err := s.ApplyRemote(whRec(epKey, 2, `{"secret":"whsec_b"}`)); err != nil {
		t.Fatal(err)
	}
	if drain(s) || !drainWebhook(s) {
		t.Fatal("a replicated webhook state must fire a webhook state change only")
	}
	if _, err := s.CreateTenant("acme"); err != nil {
		t.Fatal(err)
	}
	if !drain(s) || drainWebhook(s) || s.Revision() != rev+1 {
		t.Fatalf("a tenant creation: want one document change (revision %d → %d)", rev, s.Revision())
	}
	if _, err := s.PatchConfig("", []byte(`{"operation":"UPDATE","update":{"x":{"id":"x"}}}`)); err != nil {
		t.Fatal(err)
	}
	if !drain(s) || s.Revision() != rev+2 {
		t.Fatalf("a configuration change: want one document change (revision %d)", s.Revision())
	}
}

// A webhook state write replicates (a send to Kafka, bounded by the publish timeout) outside the
// bbolt write transaction: a slow broker must not hold every other write of the store.
func TestWebhookStateReplicatesOutsideTheTransaction(t *testing.T) {
	var s *Store
	concurrent := make(chan error, 1)
	s = openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error {
		if rec.Kind != KindWebhook {
			return nil
		}
		go func() { _, err := s.CreateTenant("other writer"); concurrent <- err }()
		select {
		case err := <-concurrent:
			if err != nil {
				t.Errorf("concurrent write: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("a store write waited for a webhook state replication: the transaction is held across it")
			<-concurrent
		}
		return nil
	}})
	if err := s.PutWebhookState(epKey, 1, []byte(`{"secret":"whsec_a"}`)); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, epKey, `{"secret":"whsec_a"}`, 1, false)
}
