package configsync

import (
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/directory"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/store"
)

// TestConfigSyncIgnoresInstanceAnnouncements: the directory's announcements and tombstones share
// the config topic; the store's ConfigSync skips them (none counted as a malformed record).
func TestConfigSyncIgnoresInstanceAnnouncements(t *testing.T) {
	b := kafkatest.NewBroker(t)
	_, cs := newInstance(t, b)
	var dirs []*directory.Directory
	for _, id := range []string{"a", "b"} {
		d, err := directory.New(directory.Config{Kafka: kafkatest.Config(b), Self: directory.Instance{ID: id, Addr: id + ".internal:8091"}, Interval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
		dirs = append(dirs, d)
	}
	t.Cleanup(func() { _ = dirs[0].Close() })
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if got := dirs[0].Live(); len(got) != 2 {
			return fmt.Errorf("a sees %v", got)
		}
		return nil
	})
	if err := dirs[1].Close(); err != nil { // a tombstone
		t.Fatal(err)
	}
	seen := cs.Stats().Records.Load()
	kafkatest.CheckFor(t, 5*time.Second, func() error { // the tombstone and more heartbeats read
		if n := cs.Stats().Records.Load(); n < seen+3 {
			return fmt.Errorf("%d records read", n)
		}
		return nil
	})
	if n := cs.Stats().DecodeErrors.Load(); n != 0 {
		t.Errorf("ConfigSync counted %d instance records as invalid", n)
	}
}

// TestUnclusteredInstanceWarnsOfPeers: a Kafka-mode process without --cluster-listen that reads
// another instance's live announcement warns once, saying why polling through a balancer
// without affinity fails; a clustered one does not.
func TestUnclusteredInstanceWarnsOfPeers(t *testing.T) {
	b := kafkatest.NewBroker(t)
	peer, err := directory.New(directory.Config{Kafka: kafkatest.Config(b), Self: directory.Instance{ID: "peer1", Addr: "peer1.internal:8091"}, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	peer.Start()
	t.Cleanup(func() { _ = peer.Close() })
	kafkatest.CheckFor(t, 5*time.Second, peer.Joined)
	start := func(clustered bool) (*kafkatest.LogCapture, *ConfigSync) {
		var logs kafkatest.LogCapture
		cfg := kafkatest.Config(b)
		cfg.Logger, cfg.Clustered = logs.Logger(), clustered
		cs, err := New(cfg)
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
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if len(alone.Lines("--cluster-listen")) == 0 {
			return fmt.Errorf("no warning yet")
		}
		return nil
	})
	seen := cs.Stats().Records.Load()
	kafkatest.CheckFor(t, 5*time.Second, func() error { // three more heartbeats of the peer: still one line
		if n := cs.Stats().Records.Load(); n < seen+3 {
			return fmt.Errorf("%d records read", n)
		}
		return nil
	})
	if l := alone.Lines("level=WARN", "without --cluster-listen", "Session ID unknown", "peer=peer1"); len(l) != 1 {
		t.Errorf("%d warnings, want 1:\n%s", len(l), alone.String())
	}
	if l := member.Lines("without --cluster-listen"); len(l) != 0 {
		t.Errorf("a clustered instance warned: %q", l)
	}
}
