package instancedir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/internal/peertable"
)

// Exchange is the exchange of the announcements.
const Exchange = "pushgate.instances"

// Instance is one announcement.
type Instance struct {
	ID        string        `json:"id"`
	Addr      string        `json:"addr"`
	Heartbeat time.Time     `json:"heartbeat"`
	Interval  time.Duration `json:"interval"`
	Leaving   bool          `json:"leaving,omitempty"`
}

// Config configures New.
type Config struct {
	// Rabbit reaches the broker (its Exchange is replaced by "pushgate.instances").
	Rabbit rabbit.Config
	// Self is this instance (ID and Addr).
	Self Instance
	// Interval is the announcement period. Zero means 2s.
	Interval time.Duration
	// Missed announcements make a peer dead. Zero means 3.
	Missed int
}

// Directory announces this instance and keeps the live ones. Safe for concurrent use.
type Directory struct {
	cfg      Config
	pub      *rabbit.Publisher
	consumer *rabbit.Consumer
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	started time.Time // this incarnation's start: Joined ignores older announcements of its id

	peers *peertable.Table[Instance] // seen on this process's clock
}

// New validates cfg; Start begins announcing and reading.
func New(cfg Config) (*Directory, error) {
	if cfg.Self.ID == "" || cfg.Self.Addr == "" {
		return nil, errors.New("instancedir: needs an id and an address")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Missed <= 0 {
		cfg.Missed = 3
	}
	cfg.Rabbit.Exchange = Exchange
	pub, err := rabbit.NewLazyPublisher(cfg.Rabbit)
	if err != nil {
		return nil, err
	}
	c, err := rabbit.NewConsumer(cfg.Rabbit, rabbit.Queue{
		Name: Exchange + "." + cfg.Self.ID, Binding: "#", Expires: 10 * cfg.Interval, Prefetch: 100, RecreateOnMismatch: true,
	})
	if err != nil {
		return nil, err
	}
	log := cfg.Rabbit.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Directory{cfg: cfg, pub: pub, consumer: c, log: log, ctx: ctx, cancel: cancel, started: time.Now(),
		peers: peertable.New[Instance](cfg.Interval, cfg.Missed, time.Now)}, nil
}

// Start begins the announcements and the reader.
func (d *Directory) Start() {
	d.wg.Add(2)
	go func() { defer d.wg.Done(); d.announce() }()
	go func() { defer d.wg.Done(); _ = d.consumer.Run(d.ctx, d.handle) }()
}

// Lookup returns the internal address of the live instance id.
func (d *Directory) Lookup(id string) (string, bool) {
	in, ok := d.peers.Lookup(id)
	return in.Addr, ok
}

// Live returns the live instances, by id.
func (d *Directory) Live() []Instance { return d.peers.Live() }

// Joined reports nil once this instance has read its own announcement (of this incarnation) back
// from the broker and while it stays alive there: only then can the other instances find it and
// forward its sessions, so readiness waits for it (as engine/kafka/directory.Directory.Joined).
func (d *Directory) Joined() error {
	p, ok := d.peers.Get(d.cfg.Self.ID)
	switch {
	case !ok || p.Value.Heartbeat.Before(d.started):
		return fmt.Errorf("instancedir: instance %s has not joined the instance directory yet (its announcement is not read back from %s)", d.cfg.Self.ID, Exchange)
	case !d.peers.Alive(p):
		return fmt.Errorf("instancedir: instance %s left the instance directory: no announcement of its own read back for %s", d.cfg.Self.ID, time.Since(p.Seen).Round(time.Second))
	}
	return nil
}

// Close stops announcing, tells the peers this instance leaves, and stops the reader.
func (d *Directory) Close() error {
	d.cancel()
	d.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := d.publish(ctx, Instance{ID: d.cfg.Self.ID, Addr: d.cfg.Self.Addr, Leaving: true})
	return errors.Join(err, d.pub.Close())
}

func (d *Directory) publish(ctx context.Context, in Instance) error {
	b, _ := json.Marshal(in)
	return d.pub.Publish(ctx, "instance."+in.ID, rabbit.Outgoing{ContentType: "application/json", Body: b})
}

func (d *Directory) announce() {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	failing := false
	for {
		self := d.cfg.Self
		self.Heartbeat, self.Interval = time.Now().UTC(), d.cfg.Interval
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Interval)
		err := d.publish(ctx, self)
		cancel()
		switch {
		case err != nil && d.ctx.Err() == nil && !failing:
			failing = true
			d.log.Warn("instancedir: announcement not published, retrying", "err", err)
		case err == nil:
			failing = false
		}
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *Directory) handle(batch []*rabbit.Message) error {
	for _, m := range batch {
		var in Instance
		if err := json.Unmarshal(m.Body, &in); err != nil || in.ID == "" || in.Addr == "" {
			m.Reject()
			continue
		}
		if in.Leaving {
			d.peers.Remove(in.ID)
		} else {
			d.peers.Put(in.ID, peertable.Peer[Instance]{Value: in, Interval: in.Interval, Seen: time.Now()})
		}
	}
	return nil
}
