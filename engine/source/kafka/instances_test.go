package kafka

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/store"
)

func newDirectory(t *testing.T, b *broker, id string) *Directory {
	t.Helper()
	d, err := NewDirectory(DirectoryConfig{Kafka: testConfig(b), Self: Instance{ID: id, Addr: id + ".internal:8091"}, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	return d
}

// Instances find each other on the config topic, a graceful stop withdraws one at once, a
// silent one expires after the missed heartbeats, and the store's ConfigSync ignores the records.
func TestDirectoryAnnounceExpireWithdraw(t *testing.T) {
	b := newBroker(t)
	_, cs := newInstance(t, b)
	a := newDirectory(t, b, "a")
	t.Cleanup(func() { _ = a.Close() })
	bd := newDirectory(t, b, "b")
	c := newDirectory(t, b, "c")
	t.Cleanup(func() { _ = c.Close() })
	checkFor(t, 5*time.Second, func() error {
		if got := a.Live(); len(got) != 3 {
			return fmt.Errorf("a sees %v", got)
		}
		if addr, ok := c.Lookup("b"); !ok || addr != "b.internal:8091" {
			return fmt.Errorf("c: Lookup(b) = %q %v", addr, ok)
		}
		return nil
	})

	if err := bd.Close(); err != nil { // tombstone: gone without waiting for the heartbeats
		t.Fatal(err)
	}
	checkFor(t, 250*time.Millisecond, func() error {
		if _, ok := a.Lookup("b"); ok {
			return fmt.Errorf("a still sees b after its tombstone")
		}
		return nil
	})

	// c goes silent (as after SIGKILL): stop its heartbeat without a tombstone.
	c.cancel()
	c.wg.Wait()
	silent := time.Now()
	checkFor(t, 3*time.Second, func() error {
		if _, ok := a.Lookup("c"); ok {
			return fmt.Errorf("a still sees c")
		}
		return nil
	})
	if d := time.Since(silent); d < 3*100*time.Millisecond {
		t.Errorf("c expired after %v, before 3 missed heartbeats", d)
	}

	// A directory started now reads the history: only the live instance is there.
	late := newDirectory(t, b, "late")
	t.Cleanup(func() { _ = late.Close() })
	checkFor(t, 5*time.Second, func() error {
		got := late.Live()
		if len(got) != 2 || got[0].ID != "a" || got[1].ID != "late" {
			return fmt.Errorf("late sees %v", got)
		}
		return nil
	})
	if n := cs.Stats().DecodeErrors.Load(); n != 0 {
		t.Errorf("ConfigSync counted %d instance records as invalid", n)
	}
}

// TestDirectoryLifecycleLogs: a directory says when this instance joins (and is ready only then),
// when a peer joins, and when one leaves, with its id, address and why (a tombstone or missed
// heartbeats), once per change.
func TestDirectoryLifecycleLogs(t *testing.T) {
	b := newBroker(t)
	var logs logCapture
	kc := testConfig(b)
	kc.Logger = logs.logger()
	a, err := NewDirectory(DirectoryConfig{Kafka: kc, Self: Instance{ID: "a", Addr: "a.internal:8091"}, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Joined(); err == nil || !strings.Contains(err.Error(), "not joined") {
		t.Fatalf("Joined before Start: %v, want not joined", err)
	}
	a.Start()
	t.Cleanup(func() { _ = a.Close() })
	checkFor(t, 5*time.Second, a.Joined)
	// The line is written by the directory's sweep, which may run just after Joined turns nil.
	checkFor(t, 5*time.Second, func() error {
		if l := logs.lines("level=INFO", "this instance joined", "id=a", "address=a.internal:8091"); len(l) != 1 {
			return fmt.Errorf("join of this instance logged %d times:\n%s", len(l), logs.String())
		}
		return nil
	})
	bd := newDirectory(t, b, "b")
	c := newDirectory(t, b, "c")
	t.Cleanup(func() { _ = c.Close() })
	checkFor(t, 5*time.Second, func() error {
		if n := len(logs.lines("peer joined")); n != 2 {
			return fmt.Errorf("%d peer joined lines", n)
		}
		return nil
	})
	for _, id := range []string{"b", "c"} {
		if l := logs.lines("level=INFO", "peer joined", "id="+id, "address="+id+".internal:8091"); len(l) != 1 {
			t.Errorf("join of %s: %d lines", id, len(l))
		}
	}
	if err := bd.Close(); err != nil {
		t.Fatal(err)
	}
	c.cancel() // silent, as after SIGKILL
	c.wg.Wait()
	checkFor(t, 5*time.Second, func() error {
		if n := len(logs.lines("peer left")); n != 2 {
			return fmt.Errorf("%d peer left lines:\n%s", n, logs.String())
		}
		return nil
	})
	if l := logs.lines("level=WARN", "peer left", "id=b", "address=b.internal:8091", "withdrew"); len(l) != 1 {
		t.Errorf("b's departure: %d lines:\n%s", len(l), logs.String())
	}
	if l := logs.lines("level=WARN", "peer left", "id=c", "address=c.internal:8091", "missed"); len(l) != 1 {
		t.Errorf("c's departure: %d lines:\n%s", len(l), logs.String())
	}
	if l := logs.lines("level=WARN", "peer left", "instances=1"); len(l) != 1 {
		t.Errorf("the last departure must say 1 instance remains:\n%s", logs.String())
	}
}

// TestUnclusteredInstanceWarnsOfPeers: a Kafka-mode process without --cluster-listen that reads
// another instance's live announcement warns once, saying why polling through a balancer
// without affinity fails; a clustered one does not.
func TestUnclusteredInstanceWarnsOfPeers(t *testing.T) {
	b := newBroker(t)
	peer := newDirectory(t, b, "peer1")
	t.Cleanup(func() { _ = peer.Close() })
	checkFor(t, 5*time.Second, peer.Joined)
	start := func(clustered bool) (*logCapture, *ConfigSync) {
		var logs logCapture
		cfg := testConfig(b)
		cfg.Logger, cfg.Clustered = logs.logger(), clustered
		cs, err := NewConfigSync(cfg)
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(t.TempDir(), store.Options{Replicate: cs.Replicate})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.Close(); _ = st.Close() })
		cs.Start(st)
		return &logs, cs
	}
	alone, cs := start(false)
	member, _ := start(true)
	checkFor(t, 5*time.Second, func() error {
		if len(alone.lines("--cluster-listen")) == 0 {
			return fmt.Errorf("no warning yet")
		}
		return nil
	})
	seen := cs.Stats().Records.Load()
	checkFor(t, 5*time.Second, func() error { // three more heartbeats of the peer: still one line
		if n := cs.Stats().Records.Load(); n < seen+3 {
			return fmt.Errorf("%d records read", n)
		}
		return nil
	})
	if l := alone.lines("level=WARN", "without --cluster-listen", "Session ID unknown", "peer=peer1"); len(l) != 1 {
		t.Errorf("%d warnings, want 1:\n%s", len(l), alone.String())
	}
	if l := member.lines("without --cluster-listen"); len(l) != 0 {
		t.Errorf("a clustered instance warned: %q", l)
	}
}

// TestDirectoryJoinedNeedsThisIncarnation: an instance restarted with the same --instance-id
// reads its predecessor's recent heartbeat first; that does not make it joined (nor logged as
// such): only a heartbeat written since it started does.
func TestDirectoryJoinedNeedsThisIncarnation(t *testing.T) {
	b := newBroker(t)
	var logs logCapture
	kc := testConfig(b)
	kc.Logger = logs.logger()
	d, err := NewDirectory(DirectoryConfig{Kafka: kc, Self: Instance{ID: "i1", Addr: "i1.internal:8091"}, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	record := func(hb time.Time) []byte {
		v, _ := json.Marshal(Instance{ID: "i1", Addr: "i1.internal:8091", Heartbeat: hb, Interval: time.Second})
		return v
	}
	d.apply([]byte(InstanceKeyPrefix+"i1"), record(d.started.Add(-500*time.Millisecond))) // the predecessor's
	d.sweep()
	if err := d.Joined(); err == nil {
		t.Fatal("joined on the predecessor's heartbeat")
	}
	if l := logs.lines("this instance joined"); len(l) != 0 {
		t.Fatalf("logged as joined on the predecessor's heartbeat: %q", l)
	}
	d.apply([]byte(InstanceKeyPrefix+"i1"), record(time.Now()))
	d.sweep()
	if err := d.Joined(); err != nil {
		t.Fatalf("its own heartbeat: %v", err)
	}
	if l := logs.lines("this instance joined"); len(l) != 1 {
		t.Fatalf("join logged %d times", len(l))
	}
}
