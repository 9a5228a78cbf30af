package group

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/source/kafka"
)

const groupParts = 4

// groupCluster is a kfake cluster whose coordinator accepts short session timeouts, with the
// events topic in groupParts partitions unless noTopic.
func groupCluster(t *testing.T, noTopic bool) *kafkatest.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}
	if !noTopic {
		opts = append(opts, kfake.SeedTopics(groupParts, kafkatest.Topic))
	}
	return kafkatest.NewCluster(t, opts...)
}

// groupTestConfig has short group timings: a silent member is dropped after 1.5 s.
func groupTestConfig(k *kafkatest.Cluster, group string) Config {
	return Config{
		Config: client.Config{
			Brokers: k.Fake.ListenAddrs(), MaxWait: 300 * time.Millisecond, BackoffMax: 300 * time.Millisecond,
			DiscoveryInterval: 500 * time.Millisecond, ReadyWindow: time.Second,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
		Group:          group,
		SessionTimeout: 1500 * time.Millisecond, HeartbeatInterval: 150 * time.Millisecond,
		RebalanceTimeout: 1500 * time.Millisecond,
	}
}

// handled records every event handed to successful handler calls: by event id, who and which seq.
type handled struct {
	mu    sync.Mutex
	byID  map[string][]string // id -> members that handled it
	idOf  map[int]string      // seq -> id (first time)
	seqOf map[string]int
	first map[string]time.Time // member+seq -> first handling
}

func newHandled() *handled {
	return &handled{byID: map[string][]string{}, idOf: map[int]string{}, seqOf: map[string]int{}, first: map[string]time.Time{}}
}

func (h *handled) add(member string, evs []*source.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range evs {
		seq := kafkatest.SeqOf(ev)
		h.byID[ev.ID] = append(h.byID[ev.ID], member)
		h.seqOf[ev.ID] = seq
		if _, ok := h.idOf[seq]; !ok {
			h.idOf[seq] = ev.ID
		}
		if k := fmt.Sprint(member, seq); h.first[k].IsZero() {
			h.first[k] = time.Now()
		}
	}
}

// seqs returns the distinct seqs handled (by anyone, or by member when not "").
func (h *handled) seqs(member string) map[int]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int]int{}
	for id, ms := range h.byID {
		for _, m := range ms {
			if member == "" || m == member {
				out[h.seqOf[id]]++
			}
		}
	}
	return out
}

func (h *handled) waitSeqs(t *testing.T, member string, from, to int, d time.Duration) {
	t.Helper()
	kafkatest.CheckFor(t, d, func() error {
		got := h.seqs(member)
		for s := from; s < to; s++ {
			if got[s] == 0 {
				return fmt.Errorf("seq %d not handled (%d of %d)", s, len(got), to-from)
			}
		}
		return nil
	})
}

// runGroup starts a member whose handler is fn (nil: record into h as name and succeed).
func runGroup(t *testing.T, cfg Config, prep func(*Group), fn func([]*source.Event) error) *Group {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if prep != nil {
		prep(g)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- g.Run(ctx, fn) }()
	t.Cleanup(func() {
		cancel()
		_ = g.Close()
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return g
}

// waitShared waits until every member is in the same generation and their partitions are
// disjoint and cover the topic.
func waitShared(t *testing.T, gs ...*Group) {
	t.Helper()
	kafkatest.CheckFor(t, 15*time.Second, func() error {
		var all []int
		id := int32(-1)
		for i, g := range gs {
			if err := g.Ready(); err != nil {
				return fmt.Errorf("member %d: %w", i, err)
			}
			st := g.generation()
			if id >= 0 && st.id != id {
				return fmt.Errorf("generations %d and %d", id, st.id)
			}
			id = st.id
			all = append(all, st.parts...)
		}
		slices.Sort(all)
		if want := []int{0, 1, 2, 3}; !slices.Equal(all, want) {
			return fmt.Errorf("partitions %v", all)
		}
		return nil
	})
}

// produceSeqs writes seqs from..to-1 round-robin over the groupParts partitions.
func produceSeqs(p *kafkatest.Producer, from, to int) {
	p.T.Helper()
	by := map[int32][][]byte{}
	for i := from; i < to; i++ {
		by[int32(i%groupParts)] = append(by[int32(i%groupParts)], kafkatest.EventJSON(kafkatest.Tenant, i))
	}
	for part, vs := range by {
		p.Produce(part, vs...)
	}
}

// committedOffsets asks the coordinator for the group's committed offsets of the events topic.
func committedOffsets(t *testing.T, cl *kgo.Client, group string) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = kafkatest.Topic
	for p := int32(0); p < groupParts; p++ {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			out[p.Partition] = p.Offset
		}
	}
	return out
}

func TestGroupMembersShareTheRecords(t *testing.T) {
	k := groupCluster(t, false)
	h := newHandled()
	cfg := groupTestConfig(k, "share")
	a := runGroup(t, cfg, nil, func(evs []*source.Event) error { h.add("a", evs); return nil })
	b := runGroup(t, cfg, nil, func(evs []*source.Event) error { h.add("b", evs); return nil })
	waitShared(t, a, b)
	p := &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	const n = 400
	produceSeqs(p, 0, n)
	h.waitSeqs(t, "", 0, n, 15*time.Second)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if c := a.Stats().Committed.Load() + b.Stats().Committed.Load(); c != n {
			return fmt.Errorf("%d of %d committed", c, n)
		}
		return nil
	})
	got := h.seqs("")
	for s := 0; s < n; s++ {
		if got[s] != 1 {
			t.Errorf("seq %d handled %d times", s, got[s])
		}
	}
	na, nb := len(h.seqs("a")), len(h.seqs("b"))
	if na+nb != n || na == 0 || nb == 0 {
		t.Errorf("a handled %d, b %d", na, nb)
	}
	for id, ms := range h.byID {
		if len(ms) != 1 {
			t.Errorf("event %s handled by %v", id, ms)
		}
		_, part, off, err := kafka.EventPosition(id)
		if err != nil || id != kafka.RecordID(part, off) || h.seqOf[id]%groupParts != part {
			t.Errorf("event id %s: partition %d offset %d err %v (seq %d)", id, part, off, err, h.seqOf[id])
		}
	}
	for p, off := range committedOffsets(t, k.Client, "share") {
		if off != n/groupParts {
			t.Errorf("partition %d committed at %d, want %d", p, off, n/groupParts)
		}
	}
	if l := a.Stats().Lag() + b.Stats().Lag(); l != 0 {
		t.Errorf("lag %d after everything was committed", l)
	}
}

func TestGroupCommitsOnlyAfterTheHandlerSucceeded(t *testing.T) {
	k := groupCluster(t, false)
	h := newHandled()
	var (
		mu      sync.Mutex
		calls   [][]string // ids of every call, failed or not
		failing atomic.Bool
	)
	failing.Store(true)
	cfg := groupTestConfig(k, "retry")
	g := runGroup(t, cfg, nil, func(evs []*source.Event) error {
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.ID
			if ev.Backlog {
				t.Errorf("event %s marked Backlog", ev.ID)
			}
		}
		mu.Lock()
		calls = append(calls, ids)
		mu.Unlock()
		if failing.Load() {
			return errors.New("store unavailable")
		}
		h.add("g", evs)
		return nil
	})
	waitShared(t, g)
	p := &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	const n = 200
	produceSeqs(p, 0, n)
	p.Produce(1, []byte(`{"tenantId":`)) // malformed, behind the failing batch: skipped, counted, committed
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if e := g.Stats().HandlerErrors.Load(); e < 4 {
			return fmt.Errorf("%d handler errors", e)
		}
		return nil
	})
	for part, off := range committedOffsets(t, k.Client, "retry") {
		if off != 0 {
			t.Fatalf("partition %d committed at %d while the handler fails", part, off)
		}
	}
	if c := g.Stats().Committed.Load(); c != 0 {
		t.Fatalf("%d records committed while the handler fails", c)
	}
	mu.Lock()
	for i, ids := range calls[1:] {
		if !slices.Equal(ids, calls[0]) {
			t.Errorf("retry %d got another batch (%d events, first call %d)", i+1, len(ids), len(calls[0]))
		}
	}
	mu.Unlock()
	failing.Store(false)
	h.waitSeqs(t, "", 0, n, 10*time.Second)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if c := g.Stats().Committed.Load(); c != n+1 {
			return fmt.Errorf("%d of %d records committed", c, n+1)
		}
		return nil
	})
	for s, c := range h.seqs("") {
		if c != 1 {
			t.Errorf("seq %d handled %d times after success", s, c)
		}
	}
	want := map[int32]int64{0: n / groupParts, 1: n/groupParts + 1, 2: n / groupParts, 3: n / groupParts}
	if got := committedOffsets(t, k.Client, "retry"); !mapsEqual(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	if d := g.Stats().DecodeErrors.Load(); d != 1 {
		t.Errorf("decode errors %d, want 1", d)
	}
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// killSwitch dials a member's connections and can cut them all at once and refuse new ones: to the
// coordinator the member looks like a crashed process (no heartbeat, no LeaveGroup, no commit).
type killSwitch struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

var errKilled = errors.New("killed")

func (k *killSwitch) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if k.isDead() {
		return nil, errKilled
	}
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		_ = c.Close()
		return nil, errKilled
	}
	k.conns = append(k.conns, c)
	return c, nil
}

func (k *killSwitch) isDead() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dead
}

func (k *killSwitch) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dead = true
	for _, c := range k.conns {
		_ = c.Close()
	}
}

func TestGroupTakesOverACrashedMembersRecords(t *testing.T) {
	k := groupCluster(t, false)
	h := newHandled()
	cfg := groupTestConfig(k, "takeover")
	var ks killSwitch
	var blocking atomic.Bool
	release := make(chan struct{})
	held := make(chan []*source.Event, 1)
	a := runGroup(t, cfg, func(g *Group) {
		g.cn.Dialer.DialFunc = ks.dial
		g.cn.Transport.Dial = ks.dial
	}, func(evs []*source.Event) error {
		if blocking.Load() {
			select { // the crash: a batch in hand, never committed
			case held <- evs:
			default:
			}
			<-release
			return errors.New("crashed")
		}
		h.add("a", evs)
		return nil
	})
	t.Cleanup(func() { close(release) }) // runs before a's Close
	b := runGroup(t, cfg, nil, func(evs []*source.Event) error { h.add("b", evs); return nil })
	waitShared(t, a, b)
	aParts := a.generation().parts
	p := &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	produceSeqs(p, 0, 40)
	h.waitSeqs(t, "", 0, 40, 10*time.Second)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if c := a.Stats().Committed.Load() + b.Stats().Committed.Load(); c != 40 {
			return fmt.Errorf("%d of 40 committed", c)
		}
		return nil
	})

	blocking.Store(true)
	produceSeqs(p, 40, 80)
	var inHand []*source.Event
	select {
	case inHand = <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("a never got a batch of the second round")
	}
	ks.kill()
	crash := time.Now()
	h.waitSeqs(t, "b", 40, 80, 20*time.Second) // b: its own seqs and, after the takeover, a's
	var took time.Time
	h.mu.Lock()
	for s := 40; s < 80; s++ {
		if !slices.Contains(aParts, s%groupParts) {
			continue
		}
		if at := h.first[fmt.Sprint("b", s)]; took.IsZero() || at.Before(took) {
			took = at
		}
	}
	for _, ev := range inHand {
		if id := h.idOf[kafkatest.SeqOf(ev)]; id != ev.ID {
			t.Errorf("seq %d: id %s when a had it, %s when b handled it", kafkatest.SeqOf(ev), ev.ID, id)
		}
	}
	h.mu.Unlock()
	if len(inHand) == 0 {
		t.Fatal("a held no event")
	}
	got := h.seqs("")
	for s := 0; s < 80; s++ {
		if got[s] == 0 {
			t.Errorf("seq %d lost", s)
		}
	}
	for s := range h.seqs("a") {
		if s >= 40 {
			t.Errorf("a handled seq %d after it crashed", s)
		}
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if parts := b.generation().parts; len(parts) != groupParts {
			return fmt.Errorf("b owns %v", parts)
		}
		return nil
	})
	t.Logf("takeover: a's partitions %v handled by b %s after the crash (session timeout %s, heartbeat %s); a held %d events, all handled again by b with the same ids",
		aParts, took.Sub(crash).Round(time.Millisecond), cfg.SessionTimeout, cfg.HeartbeatInterval, len(inHand))
	if d := took.Sub(crash); d > 3*cfg.SessionTimeout {
		t.Errorf("takeover took %s", d)
	}
}

func TestGroupReadyWaitsForTheEventsTopic(t *testing.T) {
	k := groupCluster(t, true)
	cfg := groupTestConfig(k, "ready")
	h := newHandled()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Ready(); !errors.Is(err, client.ErrNotConnected) {
		t.Fatalf("Ready before Run = %v", err)
	}
	_ = g.Close()
	g = runGroup(t, cfg, nil, func(evs []*source.Event) error { h.add("g", evs); return nil })
	te := kafkatest.TopicErrorOf(t, g.Ready)
	if te.Role != "events" || te.Topic != kafkatest.Topic || !strings.Contains(te.Command, "--create --topic domain-events") {
		t.Fatalf("topic error %+v", te)
	}
	kafkatest.CreateTopic(t, k.Client, kafkatest.Topic, groupParts, nil)
	kafkatest.CheckFor(t, 15*time.Second, g.Ready)
	p := &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	produceSeqs(p, 0, 8)
	h.waitSeqs(t, "", 0, 8, 10*time.Second)
	if parts := g.generation().parts; len(parts) != groupParts {
		t.Errorf("owns %v", parts)
	}
}

// TestGroupWarnsOfUnclusteredFleet: several members in the webhook group are instances of one
// fleet; each that runs without --cluster-listen says once why its Socket.IO clients cannot
// connect through a balancer without affinity. A clustered member says nothing.
func TestGroupWarnsOfUnclusteredFleet(t *testing.T) {
	k := groupCluster(t, false)
	var alone, member kafkatest.LogCapture
	cfgA := groupTestConfig(k, "fleet")
	cfgA.Logger = alone.Logger()
	cfgB := groupTestConfig(k, "fleet")
	cfgB.Logger, cfgB.Clustered = member.Logger(), true
	noop := func([]*source.Event) error { return nil }
	ga := runGroup(t, cfgA, nil, noop)
	gb := runGroup(t, cfgB, nil, noop)
	waitShared(t, ga, gb)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if len(alone.Lines("without --cluster-listen")) == 0 {
			return fmt.Errorf("no warning")
		}
		return nil
	})
	if l := alone.Lines("level=WARN", "2 pushgate instances", "Session ID unknown", "group=fleet"); len(l) != 1 {
		t.Errorf("%d warnings, want 1:\n%s", len(l), alone.String())
	}
	if l := member.Lines("without --cluster-listen"); len(l) != 0 {
		t.Errorf("a clustered member warned: %q", l)
	}
}
