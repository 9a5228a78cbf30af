package store

import (
	"encoding/json"
	"errors"
	"strings"
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
		}
		return nil
	}})
	if err := s.PutWebhookState(epKey, 1, []byte(`{"secret":"whsec_a"}`)); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, epKey, `{"secret":"whsec_a"}`, 1, false)
}

// A configuration PATCH replicates between two transactions too: a slow broker holds no other
// write of the store.
func TestPatchReplicatesOutsideTheTransaction(t *testing.T) {
	var s *Store
	concurrent := make(chan error, 1)
	s = openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error {
		if rec.Kind != KindConfig {
			return nil
		}
		go func() { concurrent <- s.PutWebhookState(epKey, 1, []byte(`{"secret":"x"}`)) }()
		select {
		case err := <-concurrent:
			if err != nil {
				t.Errorf("concurrent write: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("a store write waited for a configuration replication: the transaction is held across it")
		}
		return nil
	}})
	rev, err := s.PatchConfig("", []byte(`{"operation":"UPDATE","update":{"x":{"id":"x"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Config(""); err != nil || got.Revision != rev.Revision || !strings.Contains(string(got.Configuration), `"x"`) {
		t.Fatalf("stored %+v %v, want revision %d", got, err, rev.Revision)
	}
}

// A PATCH whose document changed between its read and its commit (here: a record read back from
// the topic while it replicated) is applied again to the new document, at a higher revision.
func TestPatchRacingARemoteRecordIsReapplied(t *testing.T) {
	var s *Store
	raced := false
	s = openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error {
		if rec.Kind == KindConfig && !raced {
			raced = true
			cur, err := s.Config("")
			if err != nil {
				return err
			}
			other := Revision{Revision: cur.Revision + 1, Configuration: []byte(`{"remote":{"id":"remote"}}`), Created: cur.Created, LastUpdated: cur.LastUpdated}
			v, _ := json.Marshal(other)
			applied := make(chan error, 1)
			go func() { applied <- s.ApplyRemote(Record{Kind: KindConfig, Key: "core", Value: v}) }()
			select {
			case err := <-applied:
				if err != nil {
					t.Errorf("ApplyRemote: %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Error("a record read back waited for the PATCH's replication: the transaction is held across it")
			}
		}
		return nil
	}})
	before, err := s.Config("")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.PatchConfig("", []byte(`{"operation":"UPDATE","update":{"mine":{"id":"mine"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Config("")
	if rev.Revision != before.Revision+2 || got.Revision != rev.Revision || !strings.Contains(string(got.Configuration), `"remote"`) || !strings.Contains(string(got.Configuration), `"mine"`) {
		t.Fatalf("after the race: revision %d (from %d), document %s", got.Revision, before.Revision, got.Configuration)
	}
}

// A tenant creation replicates with no store lock held: the tenant index (read on every
// subscribe) answers while the config topic is slow.
func TestTenantCreationReplicatesWithoutTheIndexLock(t *testing.T) {
	var s *Store
	s = openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error {
		if rec.Kind != KindTenant {
			return nil
		}
		resolved := make(chan bool, 1)
		go func() { _, ok := s.ResolveTenant("demo"); resolved <- ok }()
		select {
		case ok := <-resolved:
			if !ok {
				t.Error("demo not resolved")
			}
		case <-time.After(2 * time.Second):
			t.Error("a tenant lookup waited for a tenant replication: the index lock is held across it")
		}
		return nil
	}})
	if _, err := s.CreateTenant("acme"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ResolveTenant("acme"); !ok {
		t.Fatal("acme not created")
	}
	if _, err := s.CreateTenant("ACME"); !errors.Is(err, ErrConflict) {
		t.Fatalf("a taken name: %v, want ErrConflict", err)
	}
}

// A tenant whose record is read back from the topic before its creation commits is created once.
func TestTenantReadBackBeforeCommit(t *testing.T) {
	var s *Store
	s = openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error {
		if rec.Kind == KindTenant {
			return s.ApplyRemote(rec) // the consumer was faster than the producer's answer
		}
		return nil
	}})
	acme, err := s.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.ResolveTenant("acme"); !ok || got != acme {
		t.Fatalf("ResolveTenant = %+v %v, want %+v", got, ok, acme)
	}
	n := 0
	for _, x := range s.Tenants() {
		if x.Name == "Acme" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d tenants named Acme", n)
	}
}
