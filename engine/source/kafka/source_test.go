package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/source"
)

func TestEveryInstanceReceivesEveryEvent(t *testing.T) {
	b := kafkatest.NewBroker(t)
	p := kafkatest.NewProducer(t, b)
	p.Seqs(0, 30) // before the start: never delivered (cold start at the latest offset)
	a, ca := startSource(t, kafkatest.Config(b), nil)
	bb, cb := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, a, 3)
	waitStarted(t, bb, 3)
	p.Seqs(100, 400)
	for name, c := range map[string]*kafkatest.Collector{"A": ca, "B": cb} {
		kafkatest.CheckFor(t, 10*time.Second, func() error {
			if n := c.Len(); n < 300 {
				return fmt.Errorf("%s has %d of 300", name, n)
			}
			return nil
		})
		kafkatest.CheckExactly(t, c.Snapshot(), 100, 400)
	}
	if got := a.Stats().Delivered.Load(); got != 300 {
		t.Fatalf("Delivered = %d", got)
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if lag := a.Stats().Lag(); lag != 0 {
			return fmt.Errorf("lag %d", lag)
		}
		return nil
	})
	// Ids: the last event's id decodes to a vector covering all three partitions.
	last := ca.Events[len(ca.Events)-1]
	pos, err := DecodePosition(last.ID)
	if err != nil || len(pos) != 3 {
		t.Fatalf("id %q -> %v, %v", last.ID, pos, err)
	}
	if !a.Position().Covers(pos) || !pos.Covers(a.Position()) {
		t.Fatalf("final position %v != last id %v", a.Position(), pos)
	}
}

func TestMalformedRecordSkipped(t *testing.T) {
	b := kafkatest.NewBroker(t)
	p := kafkatest.NewProducer(t, b)
	s, c := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	p.Produce(1,
		kafkatest.EventJSON(kafkatest.Tenant, 1),
		[]byte(`not json`),
		[]byte(`{"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05Z","payload":{}}`), // no tenant
		kafkatest.EventJSON("acme", 2), // not a URN, no resolver
		[]byte(`{"tenantId":"`+kafkatest.Tenant+`","namespace":"test","name":"seq","timestamp":"nope","payload":{}}`),
		nil, // tombstone
		kafkatest.EventJSON(kafkatest.Tenant, 4),
	)
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if n := c.Len(); n < 2 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	if got := c.Snapshot(); len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("delivered %v", got)
	}
	if n := s.Stats().DecodeErrors.Load(); n != 5 {
		t.Fatalf("DecodeErrors = %d, want 5", n)
	}
	ev := c.Events[0]
	if ev.TenantID != kafkatest.Tenant || ev.Namespace != "test" || ev.Name != "seq" || ev.ID == "" {
		t.Fatalf("event = %+v", ev)
	}
}

func TestResolveTenant(t *testing.T) {
	b := kafkatest.NewBroker(t)
	p := kafkatest.NewProducer(t, b)
	cfg := kafkatest.Config(b)
	cfg.ResolveTenant = func(ref string) (string, bool) {
		if ref == "acme" {
			return kafkatest.Tenant2, true
		}
		return "", false
	}
	s, c := startSource(t, cfg, nil)
	waitStarted(t, s, 3)
	p.Produce(0, kafkatest.EventJSON("acme", 1), kafkatest.EventJSON("unknown", 2), kafkatest.EventJSON(kafkatest.Tenant, 3))
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if s.Stats().Records.Load() < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	kafkatest.CheckFor(t, time.Second, func() error {
		if c.Len() < 1 {
			return errors.New("not delivered")
		}
		return nil
	})
	if c.Len() != 1 || c.Events[0].TenantID != kafkatest.Tenant2 || s.Stats().DecodeErrors.Load() != 2 {
		t.Fatalf("delivered %v, decode errors %d", c.Snapshot(), s.Stats().DecodeErrors.Load())
	}
}

func TestPartitionAddedAtRunTime(t *testing.T) {
	b := kafkatest.NewBroker(t)
	p := kafkatest.NewProducer(t, b)
	s, c := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	p.AddPartitions(4)
	p.Produce(3, kafkatest.EventJSON(kafkatest.Tenant, 7), kafkatest.EventJSON(kafkatest.Tenant, 8))
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := c.Len(); n < 2 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	if got := c.Snapshot(); got[0] != 7 || got[1] != 8 {
		t.Fatalf("delivered %v", got)
	}
	if pos := s.Position(); pos[3] != 2 || len(pos) != 4 {
		t.Fatalf("position %v", pos)
	}
}

func TestResumeFromAnotherInstancesID(t *testing.T) {
	b := kafkatest.NewBroker(t)
	p := kafkatest.NewProducer(t, b)
	a, ca := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, a, 3)
	p.Seqs(0, 60)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := ca.Len(); n < 60 {
			return fmt.Errorf("%d of 60", n)
		}
		return nil
	})
	const cut = 25
	id := ca.Events[cut-1].ID
	want := map[int]bool{}
	for _, s := range ca.Snapshot()[cut:] {
		want[s] = true
	}
	from, err := DecodePosition(id)
	if err != nil {
		t.Fatal(err)
	}
	// The history rule: replay ev iff !from.Contains(its partition, offset).
	for i, ev := range ca.Events {
		_, part, off, err := EventPosition(ev.ID)
		if err != nil || part != ca.Seqs[i]%3 {
			t.Fatalf("EventPosition(%q) = %d %d %v for seq %d", ev.ID, part, off, err, ca.Seqs[i])
		}
		if from.Contains(part, off) == want[ca.Seqs[i]] {
			t.Fatalf("Contains disagrees for seq %d", ca.Seqs[i])
		}
	}

	// B starts cold (after all 60) and fills the gap with ReadRange.
	bs, cb := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, bs, 3)
	got := &kafkatest.Collector{}
	if err := bs.ReadRange(context.Background(), from, bs.Position(), got.Add); err != nil {
		t.Fatal(err)
	}
	if cb.Len() != 0 {
		t.Fatalf("cold start delivered %v", cb.Snapshot())
	}
	checkSet(t, got.Snapshot(), want)
	// Every re-read id is a valid resume point: resuming from the k-th re-read event yields the rest.
	mid, _ := DecodePosition(got.Events[len(got.Events)/2].ID)
	rest := &kafkatest.Collector{}
	if err := bs.ReadRange(context.Background(), mid, bs.Position(), rest.Add); err != nil {
		t.Fatal(err)
	}
	if len(rest.Events) != len(got.Events)-len(got.Events)/2-1 {
		t.Fatalf("resume from re-read id: %d events, want %d", len(rest.Events), len(got.Events)-len(got.Events)/2-1)
	}

	// C starts "from" A's id and delivers exactly the events after it, live.
	cs, cc := startSource(t, kafkatest.Config(b), from)
	waitStarted(t, cs, 3)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := cc.Len(); n < len(want) {
			return fmt.Errorf("%d of %d", n, len(want))
		}
		return nil
	})
	checkSet(t, cc.Snapshot(), want)

	// Out of retention: a position before the first offset of a partition.
	if err := bs.ReadRange(context.Background(), Position{0: -1}, Position{0: 1}, got.Add); !errors.Is(err, ErrOutOfRetention) {
		t.Fatalf("ReadRange before retention = %v", err)
	}
	if err := bs.ReadRange(context.Background(), Position{0: 0}, Position{0: 1000}, got.Add); err == nil {
		t.Fatal("ReadRange beyond the end succeeded")
	}
}

func checkSet(t *testing.T, got []int, want map[int]bool) {
	t.Helper()
	seen := map[int]bool{}
	for _, s := range got {
		if !want[s] || seen[s] {
			t.Fatalf("unexpected or duplicate seq %d in %v (want %d events)", s, got, len(want))
		}
		seen[s] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("got %d events, want %d", len(seen), len(want))
	}
}

func TestReadRangeBounded(t *testing.T) {
	b := kafkatest.NewBroker(t)
	cfg := kafkatest.Config(b)
	cfg.MaxRangeReaders = 1
	cfg.RangeTimeout = 300 * time.Millisecond
	s, _ := startSource(t, cfg, nil)
	waitStarted(t, s, 3)
	s.rangeSem <- struct{}{} // occupy the only slot
	err := s.ReadRange(context.Background(), Position{}, Position{0: 1}, func(*source.Event) {})
	<-s.rangeSem
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadRange with no free slot = %v", err)
	}
}

func TestPublishRoundTrip(t *testing.T) {
	b := kafkatest.NewBroker(t)
	s, c := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	var _ source.Publisher = s
	for i := 0; i < 10; i++ {
		tenant := kafkatest.Tenant
		if i%2 == 1 {
			tenant = kafkatest.Tenant2
		}
		in, err := source.DecodeEvent(kafkatest.EventJSON(tenant, i))
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.Publish(in.Event(tenant))
		if err != nil || id != "" {
			t.Fatalf("Publish = %q, %v", id, err)
		}
	}
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := c.Len(); n < 10 {
			return fmt.Errorf("%d of 10", n)
		}
		return nil
	})
	// Keyed by tenant: each tenant's events in one partition, in order.
	last := map[string]int{kafkatest.Tenant: -1, kafkatest.Tenant2: -1}
	for i, ev := range c.Events {
		if seq := c.Seqs[i]; seq <= last[ev.TenantID] {
			t.Fatalf("tenant %s out of order: %v", ev.TenantID, c.Snapshot())
		} else {
			last[ev.TenantID] = seq
		}
	}
	used := 0
	for _, ps := range s.Stats().Partitions() {
		if ps.Next > 0 {
			used++
		}
	}
	if used > 2 {
		t.Fatalf("two tenants spread over %d partitions: %+v", used, s.Stats().Partitions())
	}
}

func TestBrokerDownAtStart(t *testing.T) {
	b := kafkatest.NewStoppedBroker(t)
	s, c := startSource(t, kafkatest.Config(b), nil)
	kafkatest.CheckFor(t, 2*time.Second, func() error {
		if err := s.Ready(); err == nil || s.Stats().FetchErrors.Load() == 0 {
			return fmt.Errorf("Ready = %v with %d errors", err, s.Stats().FetchErrors.Load())
		}
		return nil
	})
	if _, err := s.Publish(&source.Event{TenantID: kafkatest.Tenant, JSON: kafkatest.EventJSON(kafkatest.Tenant, 0)}); err == nil {
		t.Fatal("Publish without a broker succeeded")
	}
	up := time.Now()
	b.Start()
	waitStarted(t, s, 3)
	t.Logf("ready %s after the broker came up", time.Since(up).Round(time.Millisecond))
	p := kafkatest.NewProducer(t, b)
	p.Seqs(0, 30)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := c.Len(); n < 30 {
			return fmt.Errorf("%d of 30", n)
		}
		return nil
	})
	kafkatest.CheckExactly(t, c.Snapshot(), 0, 30)
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		cfg  client.Config
	}{
		{"no brokers", client.Config{}},
		{"bad broker", client.Config{Brokers: []string{"localhost"}}},
		{"ca missing", client.Config{Brokers: []string{"h:1"}, TLSCAFile: dir + "/nope.pem"}},
		{"cert without key", client.Config{Brokers: []string{"h:1"}, TLSCertFile: dir + "/c.pem"}},
		{"sasl unknown", client.Config{Brokers: []string{"h:1"}, SASLMechanism: "GSSAPI", SASLUser: "u", SASLPassword: "p"}},
		{"sasl no password", client.Config{Brokers: []string{"h:1"}, SASLMechanism: "PLAIN", SASLUser: "u"}},
		{"user without mechanism", client.Config{Brokers: []string{"h:1"}, SASLUser: "u"}},
	}
	for _, tc := range cases {
		if err := tc.cfg.Validate(); err == nil {
			t.Errorf("%s: Validate = nil", tc.name)
		}
		if _, err := New(tc.cfg, nil); err == nil {
			t.Errorf("%s: New = nil error", tc.name)
		}
	}
	for _, m := range []string{"PLAIN", "scram-sha-256", "SCRAM-SHA-512"} {
		cfg := client.Config{Brokers: []string{"h:1"}, SASLMechanism: m, SASLUser: "u", SASLPassword: "p"}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}
