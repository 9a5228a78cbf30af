package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/internal/peertable"
	"github.com/pushgate/pushgate/engine/kafka/client"
)

// InstanceKeyPrefix starts the config-topic key of every instance announcement.
const InstanceKeyPrefix = "instance:"

// IsInstanceKey reports whether a config-topic key is an instance announcement.
func IsInstanceKey(key []byte) bool { return strings.HasPrefix(string(key), InstanceKeyPrefix) }

// Instance is one pushgate instance as announced on the config topic.
type Instance struct {
	// ID names the instance; Engine.IO session ids it creates start with it.
	ID string `json:"id"`
	// Addr is its internal (instance-to-instance) address, host:port.
	Addr string `json:"addr"`
	// Heartbeat is when the record was written (the writer's clock).
	Heartbeat time.Time `json:"heartbeat"`
	// Interval is the announcing instance's heartbeat period.
	Interval time.Duration `json:"interval"`
}

// Config configures a Directory.
type Config struct {
	// Kafka reaches the brokers and names the config topic (ConfigTopic).
	Kafka client.Config
	// Self is this instance's announcement (Heartbeat and Interval are filled in).
	Self Instance
	// Interval is the heartbeat period. Zero means 2s.
	Interval time.Duration
	// Missed is how many heartbeat periods without a record make a peer dead. Zero means 3.
	Missed int
}

// Directory announces this instance on the config topic every Interval and keeps the live
// instances seen there: a peer is alive while its last heartbeat is younger than Missed of its
// own intervals (plus one second of slack).
type Directory struct {
	cfg    Config
	cn     *client.Conns
	writer *client.Writer
	stats  *client.Stats
	rl     *client.RateLog
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	now    func() time.Time

	// started is when this incarnation began: a record of its own id written before (by the
	// process it replaces, restarted with the same --instance-id) does not count as joined.
	started time.Time

	// peers are seen on this process's clock, or the record's when it was already old.
	peers *peertable.Table[Instance]

	mu sync.Mutex // held across peers' lock: a sweep compares the peers with live at one instant
	// live are the peers last reported alive (joined logged, left not yet); guarded by mu.
	live map[string]string // id -> address
}

// New validates cfg and prepares the producer; Start begins announcing and reading.
func New(cfg Config) (*Directory, error) {
	cfg.Kafka.ApplyDefaults()
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Missed <= 0 {
		cfg.Missed = 3
	}
	if cfg.Self.ID == "" || cfg.Self.Addr == "" {
		return nil, errors.New("kafka: instance directory needs an id and an address")
	}
	cn, err := client.NewConns(&cfg.Kafka)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Directory{
		started: time.Now().Round(0),
		cfg:     cfg, cn: cn, stats: client.NewStats(), rl: client.NewRateLog(cfg.Kafka.Logger, 5*time.Second),
		ctx: ctx, cancel: cancel, now: time.Now, peers: peertable.New[Instance](cfg.Interval, cfg.Missed, time.Now), live: map[string]string{},
		writer: cfg.Kafka.NewWriter(cn, cfg.Kafka.ConfigTopic, client.RequireOne, 2),
	}, nil
}

// Start begins the heartbeat and the reader.
func (d *Directory) Start() {
	d.wg.Add(2)
	go func() { defer d.wg.Done(); d.announce() }()
	go func() { defer d.wg.Done(); d.read() }()
}

// Lookup returns the internal address of the live instance id.
func (d *Directory) Lookup(id string) (string, bool) {
	in, ok := d.peers.Lookup(id)
	return in.Addr, ok
}

// Live returns the live instances, by id.
func (d *Directory) Live() []Instance { return d.peers.Live() }

// Joined reports nil once this instance has read its own heartbeat back from the config topic and
// while it stays alive there: only then can the other instances find it (forward its sessions),
// so readiness waits for it.
func (d *Directory) Joined() error {
	p, ok := d.peers.Get(d.cfg.Self.ID)
	switch {
	case !ok || p.Value.Heartbeat.Before(d.started):
		return fmt.Errorf("kafka: instance %s has not joined the instance directory yet (its heartbeat is not read back from %s)", d.cfg.Self.ID, d.cfg.Kafka.ConfigTopic)
	case !d.peers.Alive(p):
		return fmt.Errorf("kafka: instance %s left the instance directory: no heartbeat of its own read back from %s for %s", d.cfg.Self.ID, d.cfg.Kafka.ConfigTopic, d.now().Sub(p.Seen).Round(time.Second))
	}
	return nil
}

// sweep logs the peers that joined (alive, not yet reported) and those whose heartbeats stopped
// (reported, no longer alive); reason explains a departure seen as a record (a tombstone).
func (d *Directory) sweep() {
	type change struct{ id, addr, reason string }
	var joined, left []change
	d.mu.Lock()
	peers := d.peers.Snapshot()
	for id, p := range peers {
		if _, ok := d.live[id]; !ok && d.peers.Alive(p) && (id != d.cfg.Self.ID || !p.Value.Heartbeat.Before(d.started)) {
			d.live[id] = p.Value.Addr
			joined = append(joined, change{id: id, addr: p.Value.Addr})
		}
	}
	for id, addr := range d.live {
		p, ok := peers[id]
		switch {
		case !ok:
			delete(d.live, id)
			left = append(left, change{id, addr, "withdrew (graceful stop)"})
		case !d.peers.Alive(p):
			delete(d.live, id)
			left = append(left, change{id, addr, fmt.Sprintf("no heartbeat for %s (%d missed: crashed, killed or cut off)", d.now().Sub(p.Seen).Round(time.Second), d.cfg.Missed)})
		}
	}
	n := 0
	for _, p := range peers {
		if d.peers.Alive(p) {
			n++
		}
	}
	d.mu.Unlock()
	log := d.cfg.Kafka.Logger
	for _, c := range joined {
		if c.id == d.cfg.Self.ID {
			log.Info("cluster: this instance joined the instance directory", "id", c.id, "address", c.addr, "instances", n)
			continue
		}
		log.Info("cluster: peer joined", "id", c.id, "address", c.addr, "instances", n)
	}
	for _, c := range left {
		if c.id == d.cfg.Self.ID {
			log.Warn("cluster: this instance dropped out of the instance directory", "id", c.id, "reason", c.reason, "instances", n)
			continue
		}
		log.Warn("cluster: peer left", "id", c.id, "address", c.addr, "reason", c.reason, "instances", n)
	}
}

// Close stops announcing, writes this instance's tombstone (so peers drop it at once rather than
// after the missed heartbeats) and stops the reader.
func (d *Directory) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d.cancel()
	d.wg.Wait()
	err := d.writer.WriteMessages(ctx, client.Message{Key: []byte(InstanceKeyPrefix + d.cfg.Self.ID)})
	err = errors.Join(err, d.writer.Close())
	d.cn.Close()
	if err != nil {
		return fmt.Errorf("kafka: instance directory close: %w", err)
	}
	return nil
}

func (d *Directory) announce() {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		self := d.cfg.Self
		self.Heartbeat, self.Interval = d.now().UTC(), d.cfg.Interval
		v, _ := json.Marshal(self)
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Interval)
		err := d.writer.WriteMessages(ctx, client.Message{Key: []byte(InstanceKeyPrefix + self.ID), Value: v})
		cancel()
		if err != nil && d.ctx.Err() == nil {
			d.rl.Warn("heartbeat", "kafka: instance heartbeat not written, retrying", "topic", d.cfg.Kafka.ConfigTopic, "error", err)
		}
		d.sweep()
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// read follows every partition of the config topic from its first offset, keeping the instance
// records.
func (d *Directory) read() {
	var offs map[int]client.Bounds
	for attempt := 1; ; attempt++ {
		var err error
		if offs, err = d.cn.Offsets(d.ctx, d.cfg.Kafka.ConfigTopic); err == nil {
			break
		}
		if d.ctx.Err() != nil {
			return
		}
		d.rl.Warn("metadata", "kafka: config topic unavailable for the instance directory, retrying", "topic", d.cfg.Kafka.ConfigTopic, "error", err)
		if !client.SleepCtx(d.ctx, client.Backoff(attempt, d.cfg.Kafka.BackoffMax)) {
			return
		}
	}
	var wg sync.WaitGroup
	for p, b := range offs {
		r := &client.PartReader{Config: &d.cfg.Kafka, Conns: d.cn, Topic: d.cfg.Kafka.ConfigTopic, Partition: p, Start: b.First,
			Stats: d.stats, Log: d.rl, Handle: func(_ context.Context, m *client.Message) bool {
				d.apply(m.Key, m.Value)
				d.sweep()
				return true
			}}
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(d.ctx) }()
	}
	wg.Wait()
}

// apply records one config-topic record if it is an instance announcement.
func (d *Directory) apply(key, value []byte) {
	if !IsInstanceKey(key) {
		return
	}
	id := strings.TrimPrefix(string(key), InstanceKeyPrefix)
	if value == nil {
		d.peers.Remove(id)
		return
	}
	var in Instance
	if err := json.Unmarshal(value, &in); err != nil || in.ID != id || in.Addr == "" {
		d.rl.Warn("instance-record", "kafka: malformed instance record skipped", "key", client.Truncate(string(key), 120))
		return
	}
	// A record read from the topic's history may be long dead: one older (by its writer's clock)
	// than a peer lives is kept as dead; a recent one counts from now, so clocks a few seconds
	// apart do not matter.
	seen := d.now()
	if hb := in.Heartbeat; !hb.IsZero() && !d.peers.Alive(peertable.Peer[Instance]{Interval: in.Interval, Seen: hb}) {
		seen = hb
	}
	d.peers.Put(id, peertable.Peer[Instance]{Value: in, Interval: in.Interval, Seen: seen})
}
