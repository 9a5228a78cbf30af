package group

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/source"
)

// A member joining and another leaving (Close) while records flow: nothing is lost, and the
// leaver's partitions move at once (LeaveGroup), not after the session timeout.
func TestGroupScaleUpAndDownWhileProducing(t *testing.T) {
	k := groupCluster(t, false)
	h := newHandled()
	cfg := groupTestConfig(k, "scale")
	cfg.SessionTimeout, cfg.HeartbeatInterval = 6*time.Second, 200*time.Millisecond
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() {
		aDone <- a.Run(context.Background(), func(evs []*source.Event) error { h.add("a", evs); return nil })
	}()
	t.Cleanup(func() { _ = a.Close() })
	waitShared(t, a)
	p := &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	var produced atomic.Int64
	var prodErr atomic.Pointer[error]
	stop := make(chan struct{})
	flowing := make(chan struct{})
	go func() { // not p.produce: t.Fatal is for the test's goroutine
		defer close(flowing)
		for n := 0; ; n += groupParts {
			select {
			case <-stop:
				return
			default:
			}
			recs := make([]*kgo.Record, groupParts)
			for i := range recs {
				recs[i] = &kgo.Record{Topic: kafkatest.Topic, Partition: int32((n + i) % groupParts), Value: kafkatest.EventJSON(kafkatest.Tenant, n+i)}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := p.Client.ProduceSync(ctx, recs...).FirstErr()
			cancel()
			if err != nil {
				prodErr.Store(&err)
				return
			}
			produced.Store(int64(n + groupParts))
			time.Sleep(10 * time.Millisecond) // the producer's pace, not a wait for a result
		}
	}()
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }); <-flowing }
	t.Cleanup(halt) // before the client closes
	b := runGroup(t, cfg, nil, func(evs []*source.Event) error { h.add("b", evs); return nil })
	waitShared(t, a, b)
	kafkatest.CheckFor(t, 10*time.Second, func() error { // b has its share of the flow
		if n := len(h.seqs("b")); n < 20 {
			return fmt.Errorf("b handled %d", n)
		}
		return nil
	})
	closed := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; err != nil {
		t.Fatalf("Run after Close = %v", err)
	}
	var moved time.Duration
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if parts := b.generation().parts; len(parts) != groupParts {
			return fmt.Errorf("b owns %v", parts)
		}
		moved = time.Since(closed)
		return nil
	})
	halt()
	if e := prodErr.Load(); e != nil {
		t.Fatalf("produce: %v", *e)
	}
	total := int(produced.Load())
	h.waitSeqs(t, "", 0, total, 15*time.Second)
	dup := 0
	for _, c := range h.seqs("") {
		dup += c - 1
	}
	t.Logf("%d records while b joined and a left: none lost, %d handled twice; a's partitions moved to b %s after a.Close",
		total, dup, moved.Round(time.Millisecond))
	if moved > cfg.SessionTimeout/2 {
		t.Errorf("partitions moved %s after Close: the session timeout, not the leave", moved)
	}
}

// Partitions added to the topic later are read from their beginning (the group exists), while a
// new group started at the end: records produced before the first member joined are not handled.
func TestGroupStartsAtTheEndAndReadsNewPartitionsFromTheirBeginning(t *testing.T) {
	k := groupCluster(t, false)
	p := &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	produceSeqs(p, 0, 8) // history: before the group exists
	h := newHandled()
	cfg := groupTestConfig(k, "start")
	cfg.DiscoveryInterval = 2 * time.Second // the new partitions get records before the group sees them
	g := runGroup(t, cfg, nil, func(evs []*source.Event) error { h.add("g", evs); return nil })
	waitShared(t, g)
	if got := committedOffsets(t, k.Client, "start"); !mapsEqual(got, map[int32]int64{0: 2, 1: 2, 2: 2, 3: 2}) {
		t.Fatalf("start committed %v, want the end of every partition", got)
	}
	p.AddPartitions(groupParts + 2)
	p = &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))} // fresh metadata
	// records in the new partitions before the group noticed them
	for part := int32(groupParts); part < groupParts+2; part++ {
		p.Produce(part, kafkatest.EventJSON(kafkatest.Tenant, 100+int(part)))
	}
	produceSeqs(p, 8, 16)
	h.waitSeqs(t, "", 8, 16, 10*time.Second)
	h.waitSeqs(t, "", 100+groupParts, 100+groupParts+2, 10*time.Second)
	if r := g.Stats().Rebalances.Load(); r != 2 {
		t.Errorf("%d generations, want 2 (the start, the new partitions)", r)
	}
	for s := range h.seqs("") {
		if s < 8 {
			t.Errorf("seq %d from before the group was created handled", s)
		}
	}
	if parts := g.generation().parts; len(parts) != groupParts+2 {
		t.Errorf("owns %v", parts)
	}
}

// A broker outage (stopped, restarted on the same port and data) while the group consumes: the
// member is not ready during it, rejoins after it, and every record is handled at least once,
// the ones committed before the outage not again.
func TestGroupBrokerOutage(t *testing.T) {
	b := kafkatest.NewBroker(t) // 3 partitions; kfake's default minimum session timeout (6 s)
	cfg := Config{Config: kafkatest.Config(b), Group: "outage", SessionTimeout: 6 * time.Second, HeartbeatInterval: 200 * time.Millisecond,
		RebalanceTimeout: 2 * time.Second}
	h := newHandled()
	g := runGroup(t, cfg, nil, func(evs []*source.Event) error { h.add("g", evs); return nil })
	kafkatest.CheckFor(t, 10*time.Second, g.Ready)
	p := kafkatest.NewProducer(t, b)
	p.Seqs(0, 60)
	h.waitSeqs(t, "", 0, 60, 10*time.Second)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if c := g.Stats().Committed.Load(); c != 60 {
			return fmt.Errorf("%d of 60 committed", c)
		}
		return nil
	})
	b.Stop()
	down := time.Now()
	kafkatest.CheckFor(t, 15*time.Second, func() error {
		if g.Ready() == nil {
			return fmt.Errorf("still ready %s into the outage", time.Since(down).Round(time.Millisecond))
		}
		return nil
	})
	b.Start()
	up := time.Now()
	p2 := kafkatest.NewProducer(t, b)
	p2.Seqs(60, 120)
	h.waitSeqs(t, "", 60, 120, 20*time.Second)
	kafkatest.CheckFor(t, 10*time.Second, g.Ready)
	for s, n := range h.seqs("") {
		if s < 60 && n != 1 {
			t.Errorf("seq %d, committed before the outage, handled %d times", s, n)
		}
	}
	t.Logf("outage of %s: all records handled %s after the broker came back; join errors %d, commit errors %d",
		up.Sub(down).Round(time.Millisecond), time.Since(up).Round(time.Millisecond), g.Stats().JoinErrors.Load(), g.Stats().CommitErrors.Load())
}
