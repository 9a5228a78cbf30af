package group

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/source"
	kafka "github.com/pushgate/pushgate/engine/source/kafka"
)

// Stats are a Group's counters and gauges, safe to read concurrently. The embedded Stats
// count the fetch side as for the Source (Records, DecodeErrors, FetchErrors, Reconnects, Gaps;
// Delivered = events handed to a handler call that succeeded; Partitions = the partitions owned in
// the running generation, Next being the next offset to fetch).
type Stats struct {
	*client.Stats
	// Committed counts records whose offsets were committed (handled events and skipped malformed
	// records).
	Committed atomic.Uint64
	// HandlerErrors counts handler calls that returned an error (each retry counts).
	HandlerErrors atomic.Uint64
	// CommitErrors counts failed offset commits (the records are handled again by the partition's
	// next owner).
	CommitErrors atomic.Uint64
	// Rebalances counts the generations this member took part in (the first join included).
	Rebalances atomic.Uint64
	// JoinErrors counts failed attempts to join or sync the group.
	JoinErrors atomic.Uint64
	// Assigned is the number of partitions owned in the running generation (0 between them).
	Assigned atomic.Int64

	mu        sync.Mutex
	committed map[int]int64 // owned partition -> committed offset
}

// Lag is the number of records in the owned partitions not committed yet: the sum of high-water
// mark − committed offset (the high-water mark as last seen by a fetch). It shadows Stats.Lag,
// which counts records not fetched yet.
func (s *Stats) Lag() int64 {
	s.mu.Lock()
	committed := maps.Clone(s.committed)
	s.mu.Unlock()
	var sum int64
	for _, p := range s.Partitions() {
		if c, ok := committed[p.Partition]; ok {
			sum += max(p.HighWater-c, 0)
		}
	}
	return sum
}

// own resets the per-partition figures to the partitions of a new generation.
func (s *Stats) own(start map[int]int64) {
	s.ResetPartitions()
	s.mu.Lock()
	s.committed = make(map[int]int64, len(start))
	maps.Copy(s.committed, start)
	s.mu.Unlock()
	s.Assigned.Store(int64(len(start)))
}

func (s *Stats) setCommitted(offs map[int]int64) {
	s.mu.Lock()
	for p, o := range offs {
		s.committed[p] = o
	}
	s.mu.Unlock()
}

// groupRec is one fetched record on its way to a batch; ev is nil for a malformed record.
type groupRec struct {
	part int
	off  int64
	ev   *source.Event
}

// runGeneration consumes the partitions of gen until the generation ends (a rebalance, a lost
// coordinator, Close) and returns once every goroutine of it stopped.
func (g *Group) runGeneration(gen *client.Generation, handle func([]*source.Event) error) {
	parts := make([]int, 0, len(gen.Assignments[g.cfg.Topic]))
	for _, a := range gen.Assignments[g.cfg.Topic] {
		parts = append(parts, a.ID)
	}
	slices.Sort(parts)
	g.mu.Lock()
	g.gen = genState{id: gen.ID, member: gen.MemberID, parts: parts}
	g.mu.Unlock()
	g.stats.Rebalances.Add(1)
	g.cfg.Logger.Info("kafka: group generation", "group", g.cfg.Group, "generation", gen.ID, "partitions", parts)
	done := make(chan struct{})
	gen.Start(func(ctx context.Context) {
		defer close(done)
		g.consume(ctx, gen, handle)
	})
	<-done
	g.mu.Lock()
	g.gen = genState{}
	g.mu.Unlock()
	g.stats.Assigned.Store(0)
	g.genEnded.Store(time.Now().UnixNano())
	g.inGen.Store(false)
}

// consume runs one generation: start offsets, one PartReader per owned partition, then batches:
// handle (retried until nil), commit.
func (g *Group) consume(ctx context.Context, gen *client.Generation, handle func([]*source.Event) error) {
	assigned := gen.Assignments[g.cfg.Topic]
	start := map[int]int64{}
	if len(assigned) > 0 {
		var ok bool
		if start, ok = g.startOffsets(ctx, gen, assigned); !ok {
			return
		}
	}
	g.stats.own(start)
	// A member from here on: Ready reports nil (every owned partition has a committed start).
	g.lastErr.Store(nil)
	g.joined.Store(true)
	g.inGen.Store(true)
	g.health.OK()
	if !g.cfg.Clustered && !g.unclusteredWarned.Load() {
		go g.warnUnclustered(ctx)
	}
	if len(assigned) == 0 {
		<-ctx.Done()
		return
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	recs := make(chan groupRec, g.cfg.MaxBatch)
	push := func(ctx context.Context, m *client.Message) bool {
		g.stats.Records.Add(1)
		ev := kafka.DecodeOrSkip(&g.cfg.Config, g.stats.Stats, g.rl, m.Partition, m.Offset, m.Value, m.Headers)
		if ev != nil && kafka.RepeatRecord(g.seen, ev, m.Headers, m.Partition, m.Offset, m.Time) {
			g.stats.Duplicates.Add(1)
			ev = nil // a retried publish: its webhooks went out for the first record
		}
		if ev != nil {
			ev.ID = kafka.RecordID(m.Partition, m.Offset)
		}
		select {
		case recs <- groupRec{part: m.Partition, off: m.Offset, ev: ev}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for p, at := range start {
		ps := g.stats.Part(p)
		ps.HighWater.Store(at)
		r := &client.PartReader{Config: &g.cfg.Config, Conns: g.cn, Topic: g.cfg.Topic, Partition: p, Start: at, Stats: g.stats.Stats,
			Log: g.rl, Health: g.health, Handle: push}
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(rctx) }()
	}
	next := map[int]int64{}
	for {
		batch, n := g.collect(ctx, recs, nil, next) // a new slice each time: handle may keep it
		if n == 0 {
			return // the generation ended
		}
		if !g.handleBatch(ctx, batch, handle) {
			return // taken away while failing: the next owner reads the batch again
		}
		if !g.commit(ctx, gen, next) {
			return
		}
		g.stats.Committed.Add(uint64(n))
		g.stats.Delivered.Add(uint64(len(batch)))
		if len(batch) > 0 {
			g.stats.LastEvent.Store(time.Now().UnixNano())
		}
		clear(next)
	}
}

// startOffsets returns where each assigned partition starts: the committed offset, clamped to what
// the partition still holds. A partition without a committed offset starts at its end when the
// group has no committed offset at all (a new group: webhooks for new events), else at its
// beginning (a partition added to the topic later, as the Source reads it). That offset is
// committed at once, so that a member taking the partition over later resumes from there and not
// from the end of its own time.
func (g *Group) startOffsets(ctx context.Context, gen *client.Generation, assigned []client.PartitionAssignment) (map[int]int64, bool) {
	var offs map[int]client.Bounds
	for attempt := 1; ; attempt++ {
		var err error
		if offs, err = g.cn.Offsets(ctx, g.cfg.Topic); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, false
		}
		g.stats.FetchErrors.Add(1)
		g.fail("metadata", err)
		if !client.SleepCtx(ctx, client.Backoff(attempt, g.cfg.BackoffMax)) {
			return nil, false
		}
	}
	established := false // the group committed before: a partition without an offset is new
	for _, a := range assigned {
		established = established || a.Offset >= 0
	}
	if !established {
		var ok bool
		if established, ok = g.established(ctx, offs); !ok {
			return nil, false
		}
	}
	start := make(map[int]int64, len(assigned))
	fresh := map[int]int64{}
	for _, a := range assigned {
		b := offs[a.ID] // a partition not in the metadata yet: {0, 0}
		at := a.Offset
		switch {
		case at < 0 && established:
			at = b.First
			fresh[a.ID] = at
		case at < 0:
			at = b.Last
			fresh[a.ID] = at
		case at < b.First:
			g.cfg.Logger.Warn("kafka: group: committed offset no longer in the topic (retention); skipping to the oldest record",
				"group", g.cfg.Group, "partition", a.ID, "committed", at, "first", b.First)
			g.stats.Gaps.Add(uint64(b.First - at))
			at = b.First
		case at > b.Last:
			at = b.Last
		}
		start[a.ID] = at
	}
	if len(fresh) > 0 {
		where := "the end of the topic (a new group)"
		if established {
			where = "the beginning of the new partitions"
		}
		g.cfg.Logger.Info("kafka: group: no committed offset; starting at "+where, "group", g.cfg.Group, "offsets", fresh)
		if !g.commit(ctx, gen, fresh) {
			return nil, false
		}
	}
	return start, true
}

// established reports whether the group has a committed offset for any partition of the topic
// (ok=false once ctx ended; errors are retried).
func (g *Group) established(ctx context.Context, offs map[int]client.Bounds) (established, ok bool) {
	parts := slices.Sorted(maps.Keys(offs))
	for attempt := 1; ; attempt++ {
		resp, err := g.cn.Client.OffsetFetch(ctx, &client.OffsetFetchRequest{GroupID: g.cfg.Group,
			Topics: map[string][]int{g.cfg.Topic: parts}})
		if err == nil {
			err = resp.Error
		}
		if err == nil {
			for _, p := range resp.Topics[g.cfg.Topic] {
				if p.Error == nil && p.CommittedOffset >= 0 {
					return true, true
				}
			}
			return false, true
		}
		if ctx.Err() != nil {
			return false, false
		}
		g.fail("offsets", err)
		if !client.SleepCtx(ctx, client.Backoff(attempt, g.cfg.BackoffMax)) {
			return false, false
		}
	}
}

// collect waits for one record, then takes what else is queued, up to MaxBatch records. It
// appends the valid events to batch, records in next the offset after each partition's last
// record and returns the number of records (0: ctx ended).
func (g *Group) collect(ctx context.Context, recs <-chan groupRec, batch []*source.Event, next map[int]int64) ([]*source.Event, int) {
	add := func(r groupRec) {
		if r.ev != nil {
			batch = append(batch, r.ev)
		}
		next[r.part] = r.off + 1
	}
	select {
	case r := <-recs:
		add(r)
	case <-ctx.Done():
		return batch, 0
	}
	n := 1
	for n < g.cfg.MaxBatch {
		select {
		case r := <-recs:
			add(r)
			n++
		default:
			return batch, n
		}
	}
	return batch, n
}

// handleBatch calls handle until it returns nil (true), with a backoff between attempts; false
// when the generation ended first. A batch of malformed records only is not handed over.
func (g *Group) handleBatch(ctx context.Context, batch []*source.Event, handle func([]*source.Event) error) bool {
	if len(batch) == 0 {
		return true
	}
	for attempt := 1; ; attempt++ {
		err := handle(batch)
		if err == nil {
			return true
		}
		g.stats.HandlerErrors.Add(1)
		g.rl.Warn("handler", "kafka: group handler failed; the batch is retried, nothing committed", "group", g.cfg.Group,
			"events", len(batch), "attempt", attempt, "error", err)
		if !client.SleepCtx(ctx, client.Backoff(attempt, g.cfg.BackoffMax)) {
			return false
		}
	}
}

// commit commits offs in gen, retrying transient errors while the generation lasts (one attempt
// when it has just ended: the coordinator still accepts the commits of a generation being
// rebalanced). Errors saying the generation is over end it at once.
func (g *Group) commit(ctx context.Context, gen *client.Generation, offs map[int]int64) bool {
	if len(offs) == 0 {
		return true
	}
	req := map[string]map[int]int64{g.cfg.Topic: offs}
	for attempt := 1; ; attempt++ {
		err := gen.CommitOffsets(req)
		if err == nil {
			g.stats.setCommitted(offs)
			return true
		}
		g.stats.CommitErrors.Add(1)
		g.rl.Warn("commit", "kafka: group offset commit failed; the records will be handled again", "group", g.cfg.Group,
			"generation", gen.ID, "attempt", attempt, "error", err)
		if generationOver(err) || attempt >= 3 || !client.SleepCtx(ctx, client.Backoff(attempt, g.cfg.BackoffMax)) {
			return false
		}
	}
}

func generationOver(err error) bool {
	return errors.Is(err, client.RebalanceInProgress) || errors.Is(err, client.IllegalGeneration) ||
		errors.Is(err, client.UnknownMemberId) || errors.Is(err, client.NotCoordinatorForGroup) ||
		errors.Is(err, client.GroupCoordinatorNotAvailable)
}

// warnUnclustered says, once, that other pushgate processes are members of this webhook group —
// instances of one fleet, all reading this topic — while this one runs without --cluster-listen:
// behind a balancer without affinity their Socket.IO polling requests land on instances that do
// not hold the session and cannot forward it. Each generation (a member joining or leaving starts
// one) asks the broker for the members until the warning is out.
func (g *Group) warnUnclustered(ctx context.Context) {
	resp, err := g.cn.Client.DescribeGroups(ctx, &client.DescribeGroupsRequest{GroupIDs: []string{g.cfg.Group}})
	if err != nil || len(resp.Groups) != 1 || len(resp.Groups[0].Members) < 2 {
		return // cannot tell, or alone: ask again at the next generation
	}
	if g.unclusteredWarned.Swap(true) {
		return
	}
	var hosts []string
	for _, m := range resp.Groups[0].Members {
		hosts = append(hosts, m.ClientHost)
	}
	g.cfg.Logger.Warn("cluster: "+strconv.Itoa(len(hosts))+" pushgate instances read this Kafka topic (members of the webhook group), and this one runs without --cluster-listen: "+
		"behind a balancer without affinity, a Socket.IO polling request or upgrade that lands on another instance than the one holding its session cannot be forwarded, "+
		"so clients fail with \"Session ID unknown\" (socket.io-client: xhr poll error) and never connect; give every instance --cluster-listen, --cluster-secret and "+
		"--cluster-advertise (README \"Many instances\"), or keep each client on one instance (balancer affinity)",
		"group", g.cfg.Group, "members", hosts)
}
