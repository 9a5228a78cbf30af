package webhook

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// topic stands in for the Kafka config topic: Replicate appends, deliver applies the records in
// topic order to every store (as engine/kafka/configsync.ConfigSync does).
type topic struct {
	mu   sync.Mutex
	recs []store.Record
}

func (tp *topic) replicate(rec store.Record) error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.recs = append(tp.recs, rec)
	return nil
}

func (tp *topic) deliver(t *testing.T, stores ...*store.Store) {
	t.Helper()
	tp.mu.Lock()
	recs := append([]store.Record(nil), tp.recs...)
	tp.recs = nil
	tp.mu.Unlock()
	for _, rec := range recs {
		for _, st := range stores {
			if err := st.ApplyRemote(rec); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Fatal(err)
			}
		}
	}
}

// Two instances sharing a config topic create their secrets for a new webhook at the same moment:
// neither signs before the topic settles it, then both sign with the first one in topic order, and
// a rotation through one reaches the other.
func TestInstancesSignWithTheTopicsSecret(t *testing.T) {
	tp := &topic{}
	r := newReceiver(t, 204)
	d := &docs{}
	d.set(tenantA, hookDoc("h", r.url))
	open := func() (*store.Store, *Service) {
		st, err := store.Open(t.TempDir(), store.Options{Replicate: tp.replicate})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(Config{Store: st, Configs: d.get, Settings: Settings{Guard: Guard{AllowLoopback: true}}})
		if err != nil {
			t.Fatal(err)
		}
		svc.Start()
		t.Cleanup(func() { svc.Close(); _ = st.Close() })
		return st, svc
	}
	stA, a := open()
	stB, b := open()
	secret := func(s *Service) string {
		v, err := s.Secret(tenantA, "h")
		if err != nil {
			t.Fatal(err)
		}
		return v.(SecretView).Secret
	}
	if secret(a) == secret(b) {
		t.Fatal("two random secrets are equal")
	}
	first := secret(a) // A's record reached the topic first

	ev := func(n string) *source.Event {
		ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		e := &source.Event{ID: "1700000000-" + n, TenantID: tenantA, Namespace: "demo", Name: "ping", Timestamp: ts}
		e.JSON = source.AppendEventJSON(nil, tenantA, "demo", "ping", ts, "", nil, []byte(`{}`))
		return e
	}
	a.Observe(ev("1"))
	time.Sleep(300 * time.Millisecond) // an absence: nothing may be sent with an unconfirmed secret
	if n := r.hits.Load(); n != 0 {
		t.Fatalf("%d requests signed before the topic confirmed a secret", n)
	}

	tp.deliver(t, stA, stB)
	for _, s := range []*Service{a, b} {
		if err := s.Reload(); err != nil { // the server reloads on the store's Changes
			t.Fatal(err)
		}
	}
	if secret(b) != first || secret(a) != first {
		t.Fatal("the instances do not share the first secret in topic order")
	}
	b.Observe(ev("2"))
	waitfor.True(t, 5*time.Second, "both deliveries", func() bool { return len(r.requests()) == 2 })
	for _, q := range r.requests() {
		verify(t, q, first)
	}

	rot, err := b.RotateSecret(tenantA, "h")
	if err != nil {
		t.Fatal(err)
	}
	tp.deliver(t, stA, stB)
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if secret(a) != rot.(SecretView).Secret {
		t.Fatal("a rotation through one instance did not reach the other")
	}
}

// An operator's rotation writes the replicated state (a send to the config topic, up to the
// publish timeout) with the sender's lock released: listing, matching and delivering go on.
func TestRotationHoldsNoLockAcrossTheStateWrite(t *testing.T) {
	var blocking sync.Mutex // held by the test while a state write must hang
	entered := make(chan struct{}, 1)
	var block atomic.Bool
	st, err := store.Open(t.TempDir(), store.Options{Replicate: func(rec store.Record) error {
		if rec.Kind == store.KindWebhook && block.Load() {
			entered <- struct{}{}
			blocking.Lock()
			blocking.Unlock()
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := &docs{}
	d.set(tenantA, hookDoc("h", "http://127.0.0.1:9/hook"))
	svc, err := New(Config{Store: st, Configs: d.get, Settings: Settings{Guard: Guard{AllowLoopback: true}}})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(func() { svc.Close(); _ = st.Close() })
	// The secret created at New is read back as the topic would.
	recs, err := st.Records()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.Kind == store.KindWebhook {
			if err := st.ApplyRemote(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := svc.Reload(); err != nil {
		t.Fatal(err)
	}
	blocking.Lock()
	block.Store(true)
	rotated := make(chan error, 1)
	go func() { _, err := svc.RotateSecret(tenantA, "h"); rotated <- err }()
	<-entered
	listed := make(chan error, 1)
	go func() { _, err := svc.List(tenantA); listed <- err }()
	waited := false
	select {
	case err := <-listed:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(2 * time.Second):
		waited = true
		t.Error("List waited for a rotation's state write: the sender's lock is held across it")
	}
	blocking.Unlock()
	if err := <-rotated; err != nil {
		t.Fatal(err)
	}
	if waited {
		<-listed
	}
}
