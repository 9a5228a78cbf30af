package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

func TestEveryInstanceReceivesEveryEvent(t *testing.T) {
	b := newBroker(t)
	p := newProducer(t, b)
	p.seqs(0, 30) // before the start: never delivered (cold start at the latest offset)
	a, ca := startSource(t, testConfig(b), nil)
	bb, cb := startSource(t, testConfig(b), nil)
	waitStarted(t, a, 3)
	waitStarted(t, bb, 3)
	p.seqs(100, 400)
	for name, c := range map[string]*collector{"A": ca, "B": cb} {
		checkFor(t, 10*time.Second, func() error {
			if n := c.len(); n < 300 {
				return fmt.Errorf("%s has %d of 300", name, n)
			}
			return nil
		})
		checkExactly(t, c.snapshot(), 100, 400)
	}
	if got := a.Stats().Delivered.Load(); got != 300 {
		t.Fatalf("Delivered = %d", got)
	}
	checkFor(t, 5*time.Second, func() error {
		if lag := a.Stats().Lag(); lag != 0 {
			return fmt.Errorf("lag %d", lag)
		}
		return nil
	})
	// Ids: the last event's id decodes to a vector covering all three partitions.
	last := ca.evs[len(ca.evs)-1]
	pos, err := DecodePosition(last.ID)
	if err != nil || len(pos) != 3 {
		t.Fatalf("id %q -> %v, %v", last.ID, pos, err)
	}
	if !a.Position().Covers(pos) || !pos.Covers(a.Position()) {
		t.Fatalf("final position %v != last id %v", a.Position(), pos)
	}
}

func TestMalformedRecordSkipped(t *testing.T) {
	b := newBroker(t)
	p := newProducer(t, b)
	s, c := startSource(t, testConfig(b), nil)
	waitStarted(t, s, 3)
	p.produce(1,
		eventJSON(testTenant, 1),
		[]byte(`not json`),
		[]byte(`{"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05Z","payload":{}}`), // no tenant
		eventJSON("acme", 2), // not a URN, no resolver
		[]byte(`{"tenantId":"`+testTenant+`","namespace":"test","name":"seq","timestamp":"nope","payload":{}}`),
		nil, // tombstone
		eventJSON(testTenant, 4),
	)
	checkFor(t, 5*time.Second, func() error {
		if n := c.len(); n < 2 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	if got := c.snapshot(); len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("delivered %v", got)
	}
	if n := s.Stats().DecodeErrors.Load(); n != 5 {
		t.Fatalf("DecodeErrors = %d, want 5", n)
	}
	ev := c.evs[0]
	if ev.TenantID != testTenant || ev.Namespace != "test" || ev.Name != "seq" || ev.ID == "" {
		t.Fatalf("event = %+v", ev)
	}
}

func TestResolveTenant(t *testing.T) {
	b := newBroker(t)
	p := newProducer(t, b)
	cfg := testConfig(b)
	cfg.ResolveTenant = func(ref string) (string, bool) {
		if ref == "acme" {
			return testTenant2, true
		}
		return "", false
	}
	s, c := startSource(t, cfg, nil)
	waitStarted(t, s, 3)
	p.produce(0, eventJSON("acme", 1), eventJSON("unknown", 2), eventJSON(testTenant, 3))
	checkFor(t, 5*time.Second, func() error {
		if s.Stats().Records.Load() < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	checkFor(t, time.Second, func() error {
		if c.len() < 1 {
			return errors.New("not delivered")
		}
		return nil
	})
	if c.len() != 1 || c.evs[0].TenantID != testTenant2 || s.Stats().DecodeErrors.Load() != 2 {
		t.Fatalf("delivered %v, decode errors %d", c.snapshot(), s.Stats().DecodeErrors.Load())
	}
}

func TestPartitionAddedAtRunTime(t *testing.T) {
	b := newBroker(t)
	p := newProducer(t, b)
	s, c := startSource(t, testConfig(b), nil)
	waitStarted(t, s, 3)
	p.addPartitions(4)
	p.produce(3, eventJSON(testTenant, 7), eventJSON(testTenant, 8))
	checkFor(t, 10*time.Second, func() error {
		if n := c.len(); n < 2 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	if got := c.snapshot(); got[0] != 7 || got[1] != 8 {
		t.Fatalf("delivered %v", got)
	}
	if pos := s.Position(); pos[3] != 2 || len(pos) != 4 {
		t.Fatalf("position %v", pos)
	}
}

func TestResumeFromAnotherInstancesID(t *testing.T) {
	b := newBroker(t)
	p := newProducer(t, b)
	a, ca := startSource(t, testConfig(b), nil)
	waitStarted(t, a, 3)
	p.seqs(0, 60)
	checkFor(t, 10*time.Second, func() error {
		if n := ca.len(); n < 60 {
			return fmt.Errorf("%d of 60", n)
		}
		return nil
	})
	const cut = 25
	id := ca.evs[cut-1].ID
	want := map[int]bool{}
	for _, s := range ca.snapshot()[cut:] {
		want[s] = true
	}
	from, err := DecodePosition(id)
	if err != nil {
		t.Fatal(err)
	}
	// The history rule: replay ev iff !from.Contains(its partition, offset).
	for i, ev := range ca.evs {
		_, part, off, err := EventPosition(ev.ID)
		if err != nil || part != ca.seqs[i]%3 {
			t.Fatalf("EventPosition(%q) = %d %d %v for seq %d", ev.ID, part, off, err, ca.seqs[i])
		}
		if from.Contains(part, off) == want[ca.seqs[i]] {
			t.Fatalf("Contains disagrees for seq %d", ca.seqs[i])
		}
	}

	// B starts cold (after all 60) and fills the gap with ReadRange.
	bs, cb := startSource(t, testConfig(b), nil)
	waitStarted(t, bs, 3)
	got := &collector{}
	if err := bs.ReadRange(context.Background(), from, bs.Position(), got.fn); err != nil {
		t.Fatal(err)
	}
	if cb.len() != 0 {
		t.Fatalf("cold start delivered %v", cb.snapshot())
	}
	checkSet(t, got.snapshot(), want)
	// Every re-read id is a valid resume point: resuming from the k-th re-read event yields the rest.
	mid, _ := DecodePosition(got.evs[len(got.evs)/2].ID)
	rest := &collector{}
	if err := bs.ReadRange(context.Background(), mid, bs.Position(), rest.fn); err != nil {
		t.Fatal(err)
	}
	if len(rest.evs) != len(got.evs)-len(got.evs)/2-1 {
		t.Fatalf("resume from re-read id: %d events, want %d", len(rest.evs), len(got.evs)-len(got.evs)/2-1)
	}

	// C starts "from" A's id and delivers exactly the events after it, live.
	cs, cc := startSource(t, testConfig(b), from)
	waitStarted(t, cs, 3)
	checkFor(t, 10*time.Second, func() error {
		if n := cc.len(); n < len(want) {
			return fmt.Errorf("%d of %d", n, len(want))
		}
		return nil
	})
	checkSet(t, cc.snapshot(), want)

	// Out of retention: a position before the first offset of a partition.
	if err := bs.ReadRange(context.Background(), Position{0: -1}, Position{0: 1}, got.fn); !errors.Is(err, ErrOutOfRetention) {
		t.Fatalf("ReadRange before retention = %v", err)
	}
	if err := bs.ReadRange(context.Background(), Position{0: 0}, Position{0: 1000}, got.fn); err == nil {
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
	b := newBroker(t)
	cfg := testConfig(b)
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
	b := newBroker(t)
	s, c := startSource(t, testConfig(b), nil)
	waitStarted(t, s, 3)
	var _ source.Publisher = s
	for i := 0; i < 10; i++ {
		tenant := testTenant
		if i%2 == 1 {
			tenant = testTenant2
		}
		in, err := source.DecodeEvent(eventJSON(tenant, i))
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.Publish(in.Event(tenant))
		if err != nil || id != "" {
			t.Fatalf("Publish = %q, %v", id, err)
		}
	}
	checkFor(t, 10*time.Second, func() error {
		if n := c.len(); n < 10 {
			return fmt.Errorf("%d of 10", n)
		}
		return nil
	})
	// Keyed by tenant: each tenant's events in one partition, in order.
	last := map[string]int{testTenant: -1, testTenant2: -1}
	for i, ev := range c.evs {
		if seq := c.seqs[i]; seq <= last[ev.TenantID] {
			t.Fatalf("tenant %s out of order: %v", ev.TenantID, c.snapshot())
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
	port := freePort(t)
	b := &broker{t: t, port: port, dir: t.TempDir()}
	t.Cleanup(b.stop)
	s, c := startSource(t, testConfig(b), nil)
	checkFor(t, 2*time.Second, func() error {
		if err := s.Ready(); err == nil || s.Stats().FetchErrors.Load() == 0 {
			return fmt.Errorf("Ready = %v with %d errors", err, s.Stats().FetchErrors.Load())
		}
		return nil
	})
	if _, err := s.Publish(&source.Event{TenantID: testTenant, JSON: eventJSON(testTenant, 0)}); err == nil {
		t.Fatal("Publish without a broker succeeded")
	}
	up := time.Now()
	b.start()
	waitStarted(t, s, 3)
	t.Logf("ready %s after the broker came up", time.Since(up).Round(time.Millisecond))
	p := newProducer(t, b)
	p.seqs(0, 30)
	checkFor(t, 10*time.Second, func() error {
		if n := c.len(); n < 30 {
			return fmt.Errorf("%d of 30", n)
		}
		return nil
	})
	checkExactly(t, c.snapshot(), 0, 30)
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no brokers", Config{}},
		{"bad broker", Config{Brokers: []string{"localhost"}}},
		{"ca missing", Config{Brokers: []string{"h:1"}, TLSCAFile: dir + "/nope.pem"}},
		{"cert without key", Config{Brokers: []string{"h:1"}, TLSCertFile: dir + "/c.pem"}},
		{"sasl unknown", Config{Brokers: []string{"h:1"}, SASLMechanism: "GSSAPI", SASLUser: "u", SASLPassword: "p"}},
		{"sasl no password", Config{Brokers: []string{"h:1"}, SASLMechanism: "PLAIN", SASLUser: "u"}},
		{"user without mechanism", Config{Brokers: []string{"h:1"}, SASLUser: "u"}},
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
		cfg := Config{Brokers: []string{"h:1"}, SASLMechanism: m, SASLUser: "u", SASLPassword: "p"}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}
