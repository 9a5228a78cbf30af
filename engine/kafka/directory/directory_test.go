package directory

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
)

func newDirectory(t *testing.T, b *kafkatest.Broker, id string) *Directory {
	t.Helper()
	d, err := New(Config{Kafka: kafkatest.Config(b), Self: Instance{ID: id, Addr: id + ".internal:8091"}, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	return d
}

// Instances find each other on the config topic, a graceful stop withdraws one at once, a
// silent one expires after the missed heartbeats (engine/kafka/configsync checks that its reader
// ignores these records).
func TestDirectoryAnnounceExpireWithdraw(t *testing.T) {
	b := kafkatest.NewBroker(t)
	a := newDirectory(t, b, "a")
	t.Cleanup(func() { _ = a.Close() })
	bd := newDirectory(t, b, "b")
	c := newDirectory(t, b, "c")
	t.Cleanup(func() { _ = c.Close() })
	kafkatest.CheckFor(t, 5*time.Second, func() error {
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
	kafkatest.CheckFor(t, 250*time.Millisecond, func() error {
		if _, ok := a.Lookup("b"); ok {
			return fmt.Errorf("a still sees b after its tombstone")
		}
		return nil
	})

	// c goes silent (as after SIGKILL): stop its heartbeat without a tombstone.
	c.cancel()
	c.wg.Wait()
	silent := time.Now()
	kafkatest.CheckFor(t, 3*time.Second, func() error {
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
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		got := late.Live()
		if len(got) != 2 || got[0].ID != "a" || got[1].ID != "late" {
			return fmt.Errorf("late sees %v", got)
		}
		return nil
	})
}

// TestDirectoryLifecycleLogs: a directory says when this instance joins (and is ready only then),
// when a peer joins, and when one leaves, with its id, address and why (a tombstone or missed
// heartbeats), once per change.
func TestDirectoryLifecycleLogs(t *testing.T) {
	b := kafkatest.NewBroker(t)
	var logs kafkatest.LogCapture
	kc := kafkatest.Config(b)
	kc.Logger = logs.Logger()
	a, err := New(Config{Kafka: kc, Self: Instance{ID: "a", Addr: "a.internal:8091"}, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Joined(); err == nil || !strings.Contains(err.Error(), "not joined") {
		t.Fatalf("Joined before Start: %v, want not joined", err)
	}
	a.Start()
	t.Cleanup(func() { _ = a.Close() })
	kafkatest.CheckFor(t, 5*time.Second, a.Joined)
	// The line is written by the directory's sweep, which may run just after Joined turns nil.
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if l := logs.Lines("level=INFO", "this instance joined", "id=a", "address=a.internal:8091"); len(l) != 1 {
			return fmt.Errorf("join of this instance logged %d times:\n%s", len(l), logs.String())
		}
		return nil
	})
	bd := newDirectory(t, b, "b")
	c := newDirectory(t, b, "c")
	t.Cleanup(func() { _ = c.Close() })
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if n := len(logs.Lines("peer joined")); n != 2 {
			return fmt.Errorf("%d peer joined lines", n)
		}
		return nil
	})
	for _, id := range []string{"b", "c"} {
		if l := logs.Lines("level=INFO", "peer joined", "id="+id, "address="+id+".internal:8091"); len(l) != 1 {
			t.Errorf("join of %s: %d lines", id, len(l))
		}
	}
	if err := bd.Close(); err != nil {
		t.Fatal(err)
	}
	c.cancel() // silent, as after SIGKILL
	c.wg.Wait()
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if n := len(logs.Lines("peer left")); n != 2 {
			return fmt.Errorf("%d peer left lines:\n%s", n, logs.String())
		}
		return nil
	})
	if l := logs.Lines("level=WARN", "peer left", "id=b", "address=b.internal:8091", "withdrew"); len(l) != 1 {
		t.Errorf("b's departure: %d lines:\n%s", len(l), logs.String())
	}
	if l := logs.Lines("level=WARN", "peer left", "id=c", "address=c.internal:8091", "missed"); len(l) != 1 {
		t.Errorf("c's departure: %d lines:\n%s", len(l), logs.String())
	}
	if l := logs.Lines("level=WARN", "peer left", "instances=1"); len(l) != 1 {
		t.Errorf("the last departure must say 1 instance remains:\n%s", logs.String())
	}
}

// TestDirectoryJoinedNeedsThisIncarnation: an instance restarted with the same --instance-id
// reads its predecessor's recent heartbeat first; that does not make it joined (nor logged as
// such): only a heartbeat written since it started does.
func TestDirectoryJoinedNeedsThisIncarnation(t *testing.T) {
	b := kafkatest.NewBroker(t)
	var logs kafkatest.LogCapture
	kc := kafkatest.Config(b)
	kc.Logger = logs.Logger()
	d, err := New(Config{Kafka: kc, Self: Instance{ID: "i1", Addr: "i1.internal:8091"}, Interval: time.Second})
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
	if l := logs.Lines("this instance joined"); len(l) != 0 {
		t.Fatalf("logged as joined on the predecessor's heartbeat: %q", l)
	}
	d.apply([]byte(InstanceKeyPrefix+"i1"), record(time.Now()))
	d.sweep()
	if err := d.Joined(); err != nil {
		t.Fatalf("its own heartbeat: %v", err)
	}
	if l := logs.Lines("this instance joined"); len(l) != 1 {
		t.Fatalf("join logged %d times", len(l))
	}
}
