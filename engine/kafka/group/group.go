package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/dedupe"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/source"
)

// Defaults of Config.
const (
	DefaultGroup    = "pushgate-webhooks"
	DefaultMaxBatch = 500
)

// ErrNotJoined is Group.Ready's answer while the group has not been joined (or Run not called).
var ErrNotJoined = errors.New("kafka: consumer group not joined yet")

// Config configures New. The embedded client.Config is the same as the Source's (brokers, Topic,
// TLS/SASL, ClientID, ResolveTenant, Logger, MaxWait, BackoffMax, ReadyWindow, MaxRecordBytes);
// zero values mean the documented defaults.
type Config struct {
	client.Config
	// Group is the consumer group id shared by every instance. Zero means "pushgate-webhooks".
	Group string
	// MaxBatch bounds the records handed to the handler at once. Zero means 500.
	MaxBatch int
	// SessionTimeout: a member that sends no heartbeat for this long (a crashed or cut-off
	// instance) is removed by the coordinator and its partitions are taken over. Zero means 10s
	// (brokers accept 6s–30min by default: group.min/max.session.timeout.ms).
	SessionTimeout time.Duration
	// HeartbeatInterval is the period of the heartbeats (how fast the other members learn of a
	// rebalance). Zero means SessionTimeout/10.
	HeartbeatInterval time.Duration
	// RebalanceTimeout is how long the coordinator waits for the members to rejoin in a
	// rebalance; a member still inside its handler after it is dropped. Zero means 10s.
	RebalanceTimeout time.Duration
}

func (c *Config) applyDefaults() {
	c.Config.ApplyDefaults()
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = c.SessionTimeout / 10
	}
	if c.RebalanceTimeout <= 0 {
		c.RebalanceTimeout = 10 * time.Second
	}
}

// Group is a competing consumer of the events topic: every instance runs one with the same group
// id, each record is handled by one of them, and offsets are committed only after the handler
// returned nil. Create it with New, start it with Run; it is safe for concurrent use.
type Group struct {
	cfg   Config
	cn    *client.Conns
	stats *Stats
	rl    *client.RateLog
	tl    *client.TopicLog
	seen  *dedupe.Window // idempotency keys over the records of the partitions this member owned
	// health logs the group's outages once each (start, every OutageLogInterval, end).
	health *client.Outage
	// unclusteredWarned is set once the "several instances, no --cluster-listen" WARN is out.
	unclusteredWarned atomic.Bool

	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	closed atomic.Bool
	runs   atomic.Bool
	done   chan struct{} // closed when Run returns

	topicOK  atomic.Bool  // the events topic was found
	joined   atomic.Bool  // a generation was received at least once
	inGen    atomic.Bool  // a generation is running now
	genEnded atomic.Int64 // unix ns when the last generation ended
	lastErr  atomic.Pointer[error]

	mu  sync.Mutex
	gen genState // the running generation (for Stats and tests)
}

type genState struct {
	id     int32
	member string
	parts  []int
}

// New validates cfg; it does not connect (Run does).
func New(cfg Config) (*Group, error) {
	cfg.applyDefaults()
	if cfg.HeartbeatInterval >= cfg.SessionTimeout {
		return nil, fmt.Errorf("kafka: group heartbeat interval %s must be below the session timeout %s", cfg.HeartbeatInterval, cfg.SessionTimeout)
	}
	cn, err := client.NewConns(&cfg.Config)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{
		cfg:    cfg,
		cn:     cn,
		stats:  &Stats{Stats: client.NewStats(), committed: map[int]int64{}},
		rl:     client.NewRateLog(cfg.Logger, time.Second),
		tl:     client.NewTopicLog(cfg.Logger),
		seen:   dedupe.New(0, 0),
		health: client.NewOutage(cfg.Logger, "webhook consumer group "+cfg.Group+" on topic "+cfg.Topic),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}, nil
}

// Stats returns the live counters.
func (g *Group) Stats() *Stats { return g.stats }

// Run joins the group and consumes until ctx is done or Close is called; it returns ctx.Err() (nil
// after Close). handle gets batches of at most MaxBatch events, each partition's in offset order,
// with the same fields as the Source's events for the same records (never Backlog) and ev.ID the
// record's own position (see RecordID). After handle returns nil the batch's offsets are committed
// (malformed records, skipped and counted, included); after an error nothing is committed, the
// error is logged and the same batch is handed again after a backoff (100 ms doubling to
// BackoffMax), until it succeeds or the partitions are taken away by a rebalance (their new owner
// then reads them again from the committed offsets). handle runs on one goroutine, one batch at a
// time; it may keep the events. Run may be called once.
func (g *Group) Run(ctx context.Context, handle func([]*source.Event) error) error {
	if g.closed.Load() {
		return client.ErrClosed
	}
	if g.runs.Swap(true) {
		return errors.New("kafka: group: Run called twice")
	}
	defer close(g.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopClose := context.AfterFunc(g.ctx, cancel)
	defer stopClose()
	result := func() error {
		if g.closed.Load() {
			return nil
		}
		return ctx.Err()
	}
	if !g.waitTopic(ctx) {
		return result()
	}
	cg, err := client.NewConsumerGroup(client.ConsumerGroupConfig{
		ID:                     g.cfg.Group,
		Brokers:                g.cfg.Brokers,
		Dialer:                 g.cn.Dialer,
		Topics:                 []string{g.cfg.Topic},
		HeartbeatInterval:      g.cfg.HeartbeatInterval,
		SessionTimeout:         g.cfg.SessionTimeout,
		RebalanceTimeout:       g.cfg.RebalanceTimeout,
		JoinGroupBackoff:       g.cfg.BackoffMax,
		WatchPartitionChanges:  true, // a partition added later joins the assignment
		PartitionWatchInterval: g.cfg.DiscoveryInterval,
		StartOffset:            client.LastOffset, // only a marker: see startOffsets
		Timeout:                5 * time.Second,
		ErrorLogger: client.LoggerFunc(func(f string, a ...any) {
			g.cfg.Logger.Debug("kafka: group: " + fmt.Sprintf(f, a...))
		}),
	})
	if err != nil {
		return fmt.Errorf("kafka: group %q: %w", g.cfg.Group, err)
	}
	// Closing the kafka-go group (which leaves it) is what ends a running generation promptly.
	stopLeave := context.AfterFunc(ctx, func() { _ = cg.Close() })
	defer func() { stopLeave(); _ = cg.Close() }()
	for attempt := 1; ; attempt++ {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, client.ErrGroupClosed) {
				return result()
			}
			g.stats.JoinErrors.Add(1)
			g.fail("join", err)
			if !client.SleepCtx(ctx, client.Backoff(attempt, g.cfg.BackoffMax)) {
				return result()
			}
			continue
		}
		attempt = 0
		g.runGeneration(gen, handle)
	}
}

// waitTopic retries until the events topic exists; false once ctx ended.
func (g *Group) waitTopic(ctx context.Context) bool {
	for attempt := 1; ; attempt++ {
		_, err := g.cn.Partitions(ctx, g.cfg.Topic)
		if err == nil {
			g.tl.Resolved(g.cfg.Topic)
			g.lastErr.Store(nil)
			g.topicOK.Store(true)
			g.health.OK()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		g.cn.Transport.CloseIdleConnections()
		if mt := (*client.MissingTopic)(nil); errors.As(err, &mt) {
			var te error = g.cfg.EventsTopicError(mt.Brokers)
			g.lastErr.Store(&te)
			g.tl.Report(te.(*client.TopicError))
		} else {
			g.stats.FetchErrors.Add(1)
			g.fail("metadata", err)
		}
		if !client.SleepCtx(ctx, client.Backoff(attempt, g.cfg.BackoffMax)) {
			return false
		}
	}
}

func (g *Group) fail(cause string, err error) {
	g.lastErr.Store(&err)
	g.health.Fail(cause, err)
}

// Ready reports nil while the instance is a member of the group with an assignment (possibly
// empty, when there are more instances than partitions); a rebalance shorter than ReadyWindow does
// not count. Otherwise it says why not: a *TopicError while the events topic is missing (the same
// as the Source's), ErrNotJoined before the first generation, ErrClosed after Close.
func (g *Group) Ready() error {
	if g.closed.Load() {
		return client.ErrClosed
	}
	last := g.lastErr.Load()
	if !g.topicOK.Load() {
		if last != nil {
			var te *client.TopicError
			if errors.As(*last, &te) {
				return te
			}
			return fmt.Errorf("%w: %w", client.ErrNotConnected, *last)
		}
		return client.ErrNotConnected
	}
	if g.inGen.Load() {
		return nil
	}
	if !g.joined.Load() {
		if last != nil {
			return fmt.Errorf("%w (group %q): %w", ErrNotJoined, g.cfg.Group, *last)
		}
		return fmt.Errorf("%w (group %q)", ErrNotJoined, g.cfg.Group)
	}
	if age := time.Since(time.Unix(0, g.genEnded.Load())); age > g.cfg.ReadyWindow {
		if last != nil {
			return fmt.Errorf("kafka: group %q: not a member for %s: %w", g.cfg.Group, age.Round(time.Second), *last)
		}
		return fmt.Errorf("kafka: group %q: not a member for %s", g.cfg.Group, age.Round(time.Second))
	}
	return nil
}

// Close stops Run (waiting for a handler call in progress to return), leaves the group so that the
// others take over at once, and releases the connections. Uncommitted records are handled again by
// whichever member gets their partitions.
func (g *Group) Close() error {
	if g.closed.Swap(true) {
		return client.ErrClosed
	}
	g.cancel()
	if g.runs.Load() {
		<-g.done
	}
	g.cn.Close()
	return nil
}

// generation returns the running generation's id, member id and partitions (for tests).
func (g *Group) generation() genState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return genState{id: g.gen.id, member: g.gen.member, parts: append([]int(nil), g.gen.parts...)}
}
