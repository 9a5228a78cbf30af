package configsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/directory"
	"github.com/pushgate/pushgate/engine/store"
)

// Applier is the store side of ConfigSync; *store.Store implements it.
type Applier interface {
	ApplyRemote(rec store.Record) error
	Records() ([]store.Record, error)
}

var _ Applier = (*store.Store)(nil)

// ConfigSync replicates tenants and stream documents through the compacted config topic. Records
// are keyed Kind+":"+Key and carry the JSON of store.Record as value. At Start it reads the whole
// topic from the beginning, applying every record with Applier.ApplyRemote; it becomes ready once it
// has reached the high-water marks seen at start, then publishes the local records the topic does
// not have yet (first start of an instance), and keeps applying new records live.
type ConfigSync struct {
	cfg    client.Config
	cn     *client.Conns
	writer *client.Writer
	// stateWriter sends the webhook state records on connections of their own (stateConns): a
	// slow answer to one (the broker, a secret written while an endpoint is created) never
	// delays the tenants and documents that API writes wait for, queued behind it on one
	// connection and one partition batch.
	stateWriter *client.Writer
	stateConns  *client.Conns
	stats       *client.Stats
	rl          *client.RateLog
	tl          *client.TopicLog

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  atomic.Bool
	started atomic.Bool

	ready     chan struct{}
	readyOnce sync.Once
	// unclustered is set once the "peers but no --cluster-listen" WARN is out.
	unclustered atomic.Bool
	// health logs the config topic's outages once each (start, every OutageLogInterval, end).
	health  *client.Outage
	lastErr atomic.Pointer[error]

	mu      sync.Mutex       // serialises applies; guards seen, targets and repairs
	seen    map[string]int64 // topic key -> config revision or webhook version (0 for tenants)
	targets map[int]int64    // partition -> high-water mark at start, until reached
	// repairs holds, per topic key whose last record read was a refused webhook state, the winning
	// record to republish (store.WebhookConflictError.Repair), so that compaction, which keeps a
	// key's last record, keeps the winner. A later accepted record of the key clears it.
	repairs map[string]store.Record
}

// repairInterval is the mean wait before republishing a webhook state winner (jittered ±50%, so
// that usually one instance republishes and the others see its record and drop theirs).
var repairInterval = time.Second

// New validates cfg and prepares the producer; nothing is read before Start, so Replicate
// can be handed to store.Open first.
func New(cfg client.Config) (*ConfigSync, error) {
	cfg.ApplyDefaults()
	cn, err := client.NewConns(&cfg)
	if err != nil {
		return nil, err
	}
	scn, err := client.NewConns(&cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &ConfigSync{
		cfg: cfg, cn: cn, stats: client.NewStats(), rl: client.NewRateLog(cfg.Logger, time.Second),
		tl:     client.NewTopicLog(cfg.Logger),
		health: client.NewOutage(cfg.Logger, "reading topic "+cfg.ConfigTopic),
		ctx:    ctx, cancel: cancel, ready: make(chan struct{}),
		seen: map[string]int64{}, targets: map[int]int64{}, repairs: map[string]store.Record{},
		writer:     cfg.NewWriter(cn, cfg.ConfigTopic, client.RequireAll, 3),
		stateConns: scn, stateWriter: cfg.NewWriter(scn, cfg.ConfigTopic, client.RequireAll, 3),
	}, nil
}

// Stats returns the counters of the config-topic consumer (DecodeErrors counts records that could
// not be applied).
func (c *ConfigSync) Stats() *client.Stats { return c.stats }

// Replicate writes rec to the config topic and waits for the acknowledgement (at most
// PublishTimeout). Use it as store.Options.Replicate.
func (c *ConfigSync) Replicate(rec store.Record) error {
	if c.closed.Load() {
		return client.ErrClosed
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("kafka: encode record: %w", err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.PublishTimeout)
	defer cancel()
	w := c.writer
	if rec.Kind == store.KindWebhook {
		w = c.stateWriter
	}
	if err := w.WriteMessages(ctx, client.Message{Key: []byte(rec.Kind + ":" + rec.Key), Value: v}); err != nil {
		return fmt.Errorf("kafka: replicate %s %s: %w", rec.Kind, rec.Key, err)
	}
	return nil
}

// Start begins consuming into a (once; later calls are ignored).
func (c *ConfigSync) Start(a Applier) {
	if c.started.Swap(true) {
		return
	}
	c.wg.Add(1)
	go c.run(a)
}

// Ready reports nil once the topic was read up to the high-water marks seen at start.
func (c *ConfigSync) Ready() error {
	if c.closed.Load() {
		return client.ErrClosed
	}
	select {
	case <-c.ready:
		return nil
	default:
	}
	if e := c.lastErr.Load(); e != nil {
		var te *client.TopicError
		if errors.As(*e, &te) {
			return te
		}
		return fmt.Errorf("kafka: config topic not caught up: %w", *e)
	}
	return errors.New("kafka: config topic not caught up")
}

// WaitReady blocks until Ready would return nil or ctx ends.
func (c *ConfigSync) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (%w)", c.Ready(), ctx.Err())
	}
}

// Close stops the consumer and the producer.
func (c *ConfigSync) Close() error {
	if c.closed.Swap(true) {
		return client.ErrClosed
	}
	c.cancel()
	c.wg.Wait()
	err := errors.Join(c.writer.Close(), c.stateWriter.Close())
	c.cn.Close()
	c.stateConns.Close()
	return err
}

func (c *ConfigSync) run(a Applier) {
	defer c.wg.Done()
	offs, ok := c.openTopic()
	if !ok {
		return
	}
	if len(offs) > 1 {
		c.cfg.Logger.Warn("kafka: config topic has several partitions; records of different keys are ordered only within one",
			"topic", c.cfg.ConfigTopic, "partitions", len(offs))
	}
	c.mu.Lock()
	for p, b := range offs {
		if b.Last > b.First {
			c.targets[p] = b.Last
		}
	}
	c.mu.Unlock()
	for p, b := range offs {
		ps := c.stats.Part(p)
		ps.HighWater.Store(b.Last)
		r := &client.PartReader{Config: &c.cfg, Conns: c.cn, Topic: c.cfg.ConfigTopic, Partition: p, Start: b.First,
			Stats: c.stats, Log: c.rl, Health: c.health, Handle: func(_ context.Context, m *client.Message) bool {
				c.apply(a, m)
				return true
			}}
		c.wg.Add(1)
		go func() { defer c.wg.Done(); r.Run(c.ctx) }()
	}
	c.checkCaughtUp(a)
}

// apply runs on a partition reader's goroutine.
func (c *ConfigSync) apply(a Applier, m *client.Message) {
	c.stats.Records.Add(1)
	c.stats.LastEvent.Store(time.Now().UnixNano())
	defer func() {
		c.mu.Lock()
		if t, ok := c.targets[m.Partition]; ok && m.Offset+1 >= t {
			delete(c.targets, m.Partition)
		}
		c.mu.Unlock()
		c.checkCaughtUp(a)
	}()
	if m.Value != nil && directory.IsInstanceKey(m.Key) && !c.cfg.Clustered {
		c.warnUnclustered(m.Value)
	}
	if m.Value == nil || directory.IsInstanceKey(m.Key) {
		return // tombstone, or an instance announcement (engine/kafka/directory, read by a Directory)
	}
	var rec store.Record
	if err := json.Unmarshal(m.Value, &rec); err != nil || rec.Kind+":"+rec.Key != string(m.Key) {
		c.skip(m, errors.New("not a store record for its key"))
		return
	}
	c.mu.Lock()
	err := a.ApplyRemote(rec)
	c.seen[string(m.Key)] = max(c.seen[string(m.Key)], revisionOf(rec))
	var wc *store.WebhookConflictError
	if errors.As(err, &wc) && wc.Repair != nil {
		c.repairs[string(m.Key)] = *wc.Repair
	} else if err == nil {
		delete(c.repairs, string(m.Key))
	}
	c.mu.Unlock()
	if err != nil {
		c.skip(m, err)
		return
	}
	c.stats.Delivered.Add(1)
}

func (c *ConfigSync) skip(m *client.Message, err error) {
	c.stats.DecodeErrors.Add(1)
	c.rl.Warn("apply", "kafka: config record not applied", "topic", m.Topic, "partition", m.Partition,
		"offset", m.Offset, "key", client.Truncate(string(m.Key), 120), "error", err)
}

// revisionOf is a record's place in its key's history: the configuration revision, the webhook
// state version, 0 for tenants.
func revisionOf(rec store.Record) int64 {
	var r struct {
		Revision int64 `json:"revision"`
		Version  int64 `json:"version"`
	}
	switch rec.Kind {
	case store.KindConfig:
		_ = json.Unmarshal(rec.Value, &r)
		return r.Revision
	case store.KindWebhook:
		_ = json.Unmarshal(rec.Value, &r)
		return r.Version
	}
	return 0
}

// checkCaughtUp marks the sync ready once every start target was reached, then publishes the local
// records the topic lacks.
func (c *ConfigSync) checkCaughtUp(a Applier) {
	c.mu.Lock()
	done := len(c.targets) == 0
	c.mu.Unlock()
	if !done {
		return
	}
	c.readyOnce.Do(func() {
		close(c.ready)
		c.wg.Add(2)
		go func() { defer c.wg.Done(); c.reconcile(a) }()
		go func() { defer c.wg.Done(); c.repairLoop() }()
	})
}

// reconcile publishes every local record whose key the topic lacks or holds at a lower revision,
// retrying with backoff until it succeeds or the sync is closed.
func (c *ConfigSync) reconcile(a Applier) {
	for attempt := 1; ; attempt++ {
		err := c.reconcileOnce(a)
		if err == nil {
			return
		}
		c.rl.Warn("reconcile", "kafka: publishing local configuration failed, retrying", "error", err)
		if !client.SleepCtx(c.ctx, client.Backoff(attempt, c.cfg.BackoffMax)) {
			return
		}
	}
}

func (c *ConfigSync) reconcileOnce(a Applier) error {
	recs, err := a.Records()
	if err != nil {
		return err
	}
	var missing []store.Record
	c.mu.Lock()
	for _, r := range recs {
		rev, ok := c.seen[r.Kind+":"+r.Key]
		if !ok || revisionOf(r) > rev {
			missing = append(missing, r)
		}
	}
	c.mu.Unlock()
	for _, r := range missing {
		if err := c.Replicate(r); err != nil {
			return err
		}
		c.cfg.Logger.Info("kafka: published local record", "kind", r.Kind, "key", strings.TrimSpace(r.Key))
	}
	return nil
}

// repairLoop republishes the pending webhook state winners (see ConfigSync.repairs). It starts once
// the topic was read up to the start: refusals in the history are followed by their repairs, so a
// restart republishes nothing.
func (c *ConfigSync) repairLoop() {
	for {
		if !client.SleepCtx(c.ctx, repairInterval/2+rand.N(repairInterval)) {
			return
		}
		c.mu.Lock()
		pending := make([]store.Record, 0, len(c.repairs))
		for _, r := range c.repairs {
			pending = append(pending, r)
		}
		c.mu.Unlock()
		for _, r := range pending {
			if err := c.Replicate(r); err != nil {
				c.rl.Warn("repair", "kafka: republishing a webhook state failed, retrying", "key", client.Truncate(r.Key, 120), "error", err)
				continue
			}
			key := r.Kind + ":" + r.Key
			c.mu.Lock()
			if cur, ok := c.repairs[key]; ok && bytes.Equal(cur.Value, r.Value) {
				delete(c.repairs, key)
			}
			c.mu.Unlock()
			c.cfg.Logger.Info("kafka: republished the winning webhook state", "key", client.Truncate(r.Key, 120))
		}
	}
}

// warnUnclustered says, once, that other instances announce themselves on the config topic (they
// run with --cluster-listen) while this one does not: behind a balancer without affinity their
// clients' requests for this instance's sessions, and this instance's for theirs, cannot be
// forwarded, so Socket.IO polling fails ("Session ID unknown", socket.io-client's "xhr poll
// error") and upgrades are refused.
func (c *ConfigSync) warnUnclustered(value []byte) {
	var in directory.Instance
	if json.Unmarshal(value, &in) != nil || in.Heartbeat.IsZero() {
		return
	}
	iv := in.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	if time.Since(in.Heartbeat) > 3*iv+time.Second || c.unclustered.Swap(true) {
		return // an old announcement, or said already
	}
	c.cfg.Logger.Warn("cluster: other pushgate instances share this Kafka config topic in many-instances mode, but this one runs without --cluster-listen: "+
		"behind a balancer without affinity, Socket.IO polling requests for this instance's sessions that land elsewhere (and theirs that land here) cannot be forwarded, "+
		"so clients fail with \"Session ID unknown\" (socket.io-client: xhr poll error); give every instance --cluster-listen, --cluster-secret and --cluster-advertise (README \"Many instances\")",
		"peer", in.ID, "peer_address", in.Addr, "topic", c.cfg.ConfigTopic)
}
