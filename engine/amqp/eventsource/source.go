package eventsource

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/adspevent"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/source"
)

// Defaults.
const (
	QueuePrefix     = "pushgate.streams."
	DeadLetter      = "pushgate.dead-letter" // exchange and queue
	DefaultPrefetch = 1000
	DefaultExpires  = 5 * time.Minute
	instanceIDFile  = "amqp-instance-id"
	minExpires      = time.Minute
)

// Config configures New.
type Config struct {
	Rabbit rabbit.Config
	// DataDir keeps the instance id (file amqp-instance-id), so the queue survives a restart.
	DataDir string
	// Expires: the queue is deleted after this long without a consumer (x-expires). Zero means
	// 5 minutes; at least one minute.
	Expires time.Duration
	// Prefetch bounds the unacknowledged messages. Zero means 1000.
	Prefetch int
	// ResolveTenant maps a tenantId header to a tenant URN (the ingest's lookup). Required.
	ResolveTenant func(ref string) (string, bool)
	// Logger receives the logs. Zero means slog.Default().
	Logger *slog.Logger
}

// Source feeds the hub from this instance's queue. It is safe for concurrent use.
type Source struct {
	cfg      Config
	consumer *rabbit.Consumer
	rej      *adspevent.Rejections
	queue    string
	epoch    string // "<unix ms>-"

	fn      func(*source.Event)
	seq     uint64 // only on the consumer goroutine
	once    sync.Once
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
	mu      sync.Mutex
}

// New reads (or creates) the instance id and prepares the consumer; Subscribe starts it.
func New(cfg Config) (*Source, error) {
	if cfg.ResolveTenant == nil {
		return nil, errors.New("eventsource: ResolveTenant is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Rabbit.Logger = cfg.Logger
	if cfg.Expires <= 0 {
		cfg.Expires = DefaultExpires
	}
	cfg.Expires = max(cfg.Expires, minExpires)
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = DefaultPrefetch
	}
	id, err := InstanceID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	q := rabbit.Queue{
		Name: QueuePrefix + id, Binding: "#", Quorum: true, Expires: cfg.Expires,
		DeadLetterExchange: DeadLetter, DeadLetterQueue: DeadLetter, Prefetch: cfg.Prefetch, RecreateOnMismatch: true,
		SoleConsumer: true,
	}
	c, err := rabbit.NewConsumer(cfg.Rabbit, q)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Source{
		cfg: cfg, consumer: c, rej: adspevent.NewRejections(q.Name, cfg.Logger), queue: q.Name,
		epoch: strconv.FormatInt(time.Now().UnixMilli(), 10) + "-", ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}, nil
}

// InstanceID returns the id kept in dir/amqp-instance-id, creating it (16 random hex digits) on
// the first start.
func InstanceID(dir string) (string, error) {
	path := filepath.Join(dir, instanceIDFile)
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("eventsource: instance id: %w", err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("eventsource: instance id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("eventsource: instance id: %w", err)
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("eventsource: instance id: %w", err)
	}
	return id, nil
}

// Queue is this instance's queue name.
func (s *Source) Queue() string { return s.queue }

// Rejections are the counters of rejected messages.
func (s *Source) Rejections() *adspevent.Rejections { return s.rej }

// Stats are the consumer's counters.
func (s *Source) Stats() *rabbit.Stats { return s.consumer.Stats() }

// Subscribe sets the single consumer of events and starts consuming (the first call). fn runs on
// the consumer goroutine, one event at a time in queue order; a message is acked after fn
// returned. Later calls are ignored.
func (s *Source) Subscribe(fn func(*source.Event)) {
	s.once.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ctx.Err() != nil {
			return
		}
		s.fn, s.started = fn, true
		go func() {
			defer close(s.done)
			_ = s.consumer.Run(s.ctx, s.handle)
		}()
	})
}

func (s *Source) handle(batch []*rabbit.Message) error {
	for _, m := range batch {
		ev, rej := adspevent.Convert(m, s.cfg.ResolveTenant)
		if rej != nil {
			m.Reject()
			s.rej.Add(rej, m.RoutingKey)
			continue
		}
		s.seq++
		ev.ID = s.epoch + strconv.FormatUint(s.seq, 10)
		s.fn(ev)
	}
	return nil
}

// Ready is nil while consuming, else the reason.
func (s *Source) Ready() error { return s.consumer.Ready() }

// Close stops consuming (unacked messages stay in the queue for the next start) and waits.
func (s *Source) Close() {
	s.mu.Lock()
	s.cancel()
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.done
	}
}
