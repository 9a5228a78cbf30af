package configsync

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/store"
)

// instance is one pushgate's configuration side: a store replicating through a ConfigSync.
func newInstance(t *testing.T, b *kafkatest.Broker) (*store.Store, *ConfigSync) {
	t.Helper()
	cfg := kafkatest.Config(b)
	cs, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{
		Replicate: cs.Replicate,
		Seed:      func() []byte { return []byte(`{"core-stream":{"name":"Core"}}`) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close(); _ = st.Close() })
	if cs.Ready() == nil {
		t.Fatal("ready before Start")
	}
	cs.Start(st)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cs.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return st, cs
}

func TestConfigSyncPropagation(t *testing.T) {
	b := kafkatest.NewBroker(t)
	a, _ := newInstance(t, b)
	bs, _ := newInstance(t, b)

	// The two seeded "demo" tenants converge on one id.
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		da, _ := a.ResolveTenant("demo")
		db, _ := bs.ResolveTenant("demo")
		if da.ID != db.ID || len(a.Tenants()) != 1 || len(bs.Tenants()) != 1 {
			return fmt.Errorf("demo A %s, B %s", da.ID, db.ID)
		}
		return nil
	})

	acme, err := a.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rev, err := a.PatchConfig(acme.ID, []byte(`{"operation":"REPLACE","configuration":{"s":{"name":"S"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.CheckFor(t, time.Second, func() error {
		got, err := bs.Config(acme.ID)
		if err != nil {
			return err
		}
		if got.Revision != rev.Revision || string(got.Configuration) != `{"s":{"name":"S"}}` {
			return fmt.Errorf("B has %+v", got)
		}
		return nil
	})
	t.Logf("PATCH on A visible on B after %s", time.Since(start).Round(time.Millisecond))
	if got, ok := bs.ResolveTenant("acme"); !ok || got != acme {
		t.Fatalf("tenant on B = %+v %v", got, ok)
	}

	// B patches the core document; A sees it; a third instance started later reads everything.
	if _, err := bs.PatchConfig("", []byte(`{"operation":"UPDATE","update":{"extra":{"name":"X"}}}`)); err != nil {
		t.Fatal(err)
	}
	want := `{"core-stream":{"name":"Core"},"extra":{"name":"X"}}`
	kafkatest.CheckFor(t, time.Second, func() error {
		got, err := a.Config("")
		if err != nil || string(got.Configuration) != want {
			return fmt.Errorf("core on A = %s %v", got.Configuration, err)
		}
		return nil
	})
	c, _ := newInstance(t, b)
	if got, err := c.Config(""); err != nil || string(got.Configuration) != want {
		t.Fatalf("core on C = %s %v", got.Configuration, err)
	}
	if got, err := c.Config(acme.ID); err != nil || got.Revision != rev.Revision {
		t.Fatalf("acme on C = %+v %v", got, err)
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		da, _ := a.ResolveTenant("demo")
		dc, _ := c.ResolveTenant("demo")
		if da.ID != dc.ID || len(c.Tenants()) != 2 {
			return fmt.Errorf("C tenants %+v", c.Tenants())
		}
		return nil
	})
}

func TestConfigSyncReplicateFailure(t *testing.T) {
	b := kafkatest.NewBroker(t)
	a, _ := newInstance(t, b)
	before, err := a.Config("")
	if err != nil {
		t.Fatal(err)
	}
	b.Stop()
	if _, err := a.PatchConfig("", []byte(`{"operation":"REPLACE","configuration":{}}`)); !errors.Is(err, store.ErrReplication) {
		t.Fatalf("PatchConfig with the broker down = %v", err)
	}
	if _, err := a.CreateTenant("Nope"); !errors.Is(err, store.ErrReplication) {
		t.Fatalf("CreateTenant with the broker down = %v", err)
	}
	after, err := a.Config("")
	if err != nil || string(after.Configuration) != string(before.Configuration) || after.Revision != before.Revision {
		t.Fatalf("store changed: %+v -> %+v (%v)", before, after, err)
	}
	if _, ok := a.ResolveTenant("Nope"); ok {
		t.Fatal("tenant stored")
	}
}
