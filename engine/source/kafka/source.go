package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/dedupe"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/source"
)

// TenantURNPrefix prefixes the 24-hex tenant id of a tenant URN (same as store.TenantURNPrefix).
const TenantURNPrefix = "urn:ads:platform:tenant-service:v2:/tenants/"

var (
	// ErrOutOfRetention reports a ReadRange whose start is no longer in the topic.
	ErrOutOfRetention = errors.New("kafka: range fell out of retention")
)

var tenantURNRE = regexp.MustCompile(`^urn:ads:platform:tenant-service:v2:/tenants/[0-9a-f]{24}$`)

// Source consumes the events topic: one reader per partition, no consumer group, every instance
// reads everything. Create it with New; it is safe for concurrent use.
type Source struct {
	cfg    client.Config
	cn     *client.Conns
	stats  *client.Stats
	rl     *client.RateLog
	tl     *client.TopicLog
	writer *client.Writer
	// reading and writing are the two halves of the source's connection: either failing makes the
	// source not ready at once (engine/kafka/client outage.go).
	reading, writing *client.Outage
	// seen is the dedupe window of idempotency keys over the records read (idempotency.go).
	seen *dedupe.Window

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool

	queue      chan item
	fn         atomic.Pointer[func(*source.Event)]
	subscribed chan struct{}
	subOnce    sync.Once

	readersMu sync.Mutex
	readers   map[int]bool

	posMu sync.Mutex // guards vec (written by the dispatcher)
	vec   []entry    // sorted by partition
	idBuf []byte     // dispatcher scratch

	started  atomic.Bool
	lastOK   atomic.Int64 // unix ns of the last fetched record or confirmed idle topic
	lastErr  atomic.Pointer[error]
	rangeSem chan struct{}
}

type item struct {
	part int
	off  int64         // offset of ev; for ev == nil: the partition's start offset
	ev   *source.Event // nil: a reader announces its start offset
}

var _ source.Publisher = (*Source)(nil)

// New validates cfg and starts consuming in the background; it returns without waiting for the
// brokers (Ready reports the connection state). start is where to begin: nil means the latest
// offset of every partition (cold start); otherwise each partition starts at start[p] (partitions
// missing from start at their beginning), clamped to what the topic still holds. Partitions found
// later by the metadata check start at their beginning. Stop it with Close.
func New(cfg client.Config, start Position) (*Source, error) {
	cfg.ApplyDefaults()
	cn, err := client.NewConns(&cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{
		cfg:        cfg,
		cn:         cn,
		stats:      client.NewStats(),
		rl:         client.NewRateLog(cfg.Logger, time.Second),
		tl:         client.NewTopicLog(cfg.Logger),
		reading:    client.NewOutage(cfg.Logger, "reading topic "+cfg.Topic),
		writing:    client.NewOutage(cfg.Logger, "writing topic "+cfg.Topic),
		seen:       dedupe.New(0, 0),
		ctx:        ctx,
		cancel:     cancel,
		queue:      make(chan item, cfg.QueueSize),
		subscribed: make(chan struct{}),
		readers:    map[int]bool{},
		rangeSem:   make(chan struct{}, cfg.MaxRangeReaders),
		writer:     cfg.NewWriter(cn, cfg.Topic, client.RequireAll, 3),
	}
	s.wg.Add(2)
	go s.dispatch()
	if start != nil {
		start = start.Clone()
	}
	go s.run(start)
	return s, nil
}

// Stats returns the live counters.
func (s *Source) Stats() *client.Stats { return s.stats }

// Subscribe sets the dispatch func. Events wait (and fetching pauses when the queue is full) until
// the first Subscribe. fn runs on one dispatcher goroutine, one event at a time, each partition's
// events in offset order; ev.ID is the position vector after ev. A later Subscribe replaces fn.
func (s *Source) Subscribe(fn func(*source.Event)) {
	s.fn.Store(&fn)
	s.subOnce.Do(func() { close(s.subscribed) })
}

// Position returns the position vector as delivered so far (a copy).
func (s *Source) Position() Position {
	s.posMu.Lock()
	defer s.posMu.Unlock()
	p := make(Position, len(s.vec))
	for _, e := range s.vec {
		p[e.part] = e.next
	}
	return p
}

// Ready reports nil while the source is connected: the first metadata request succeeded and, within
// ReadyWindow, a record was fetched or the metadata check found every partition caught up.
func (s *Source) Ready() error {
	if s.closed.Load() {
		return client.ErrClosed
	}
	if !s.started.Load() {
		if e := s.lastErr.Load(); e != nil {
			var te *client.TopicError
			if errors.As(*e, &te) {
				return te
			}
			return fmt.Errorf("%w: %w", client.ErrNotConnected, *e)
		}
		return client.ErrNotConnected
	}
	if err := s.writing.Err(); err != nil { // ingest fails now: do not wait for ReadyWindow
		return err
	}
	if err := s.reading.Err(); err != nil { // delivery stalls now
		return err
	}
	if age := time.Since(time.Unix(0, s.lastOK.Load())); age > s.cfg.ReadyWindow {
		if e := s.lastErr.Load(); e != nil {
			return fmt.Errorf("kafka: no progress for %s: %w", age.Round(time.Second), *e)
		}
		return fmt.Errorf("kafka: no progress for %s", age.Round(time.Second))
	}
	return nil
}

// Close stops the readers and the dispatcher and waits for them. Events still queued are dropped.
func (s *Source) Close() error {
	if s.closed.Swap(true) {
		return client.ErrClosed
	}
	s.cancel()
	s.wg.Wait()
	err := s.writer.Close()
	s.cn.Close()
	return err
}

// Publish writes ev.JSON to the events topic, keyed by ev.TenantID (one tenant's events stay in one
// partition, in order), and waits for the write to be acknowledged by all in-sync replicas, at most
// PublishTimeout. It returns id "" and leaves ev.ID empty: the id is the position vector assigned
// when the record is consumed back (by every instance). ev is not kept.
func (s *Source) Publish(ev *source.Event) (string, error) {
	if s.closed.Load() {
		return "", client.ErrClosed
	}
	if ev.TenantID == "" || len(ev.JSON) == 0 {
		return "", errors.New("kafka: publish needs TenantID and JSON")
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.PublishTimeout)
	defer cancel()
	msg := client.Message{Key: []byte(ev.TenantID), Value: ev.JSON}
	if ev.IdempotencyKey != "" {
		msg.Headers = append(msg.Headers, client.Header{Key: IdempotencyHeader, Value: []byte(ev.IdempotencyKey)})
	}
	if ev.Traceparent != "" { // the W3C header as well, for other consumers of the topic
		msg.Headers = append(msg.Headers, client.Header{Key: traceparentHeader, Value: []byte(ev.Traceparent)})
	}
	err := s.writer.WriteMessages(ctx, msg)
	if err != nil {
		if s.ctx.Err() == nil {
			s.writing.Fail("publish", err)
		}
		return "", fmt.Errorf("kafka: publish: %w", err)
	}
	s.writing.OK()
	return "", nil
}

// run resolves the start offsets (retrying until the brokers answer), starts one reader per
// partition and then runs the periodic metadata check.
func (s *Source) run(start Position) {
	defer s.wg.Done()
	var offs map[int]client.Bounds
	for attempt := 1; ; attempt++ {
		var err error
		offs, err = s.cn.Offsets(s.ctx, s.cfg.Topic)
		if err == nil {
			s.tl.Resolved(s.cfg.Topic)
			s.lastErr.Store(nil) // a start-up error (missing topic) must not explain later stalls
			break
		}
		if s.ctx.Err() != nil {
			return
		}
		if mt := (*client.MissingTopic)(nil); errors.As(err, &mt) {
			te := s.cfg.EventsTopicError(mt.Brokers)
			var e error = te
			s.lastErr.Store(&e)
			s.tl.Report(te)
		} else {
			s.fail("metadata", err)
		}
		if !client.SleepCtx(s.ctx, client.Backoff(attempt, s.cfg.BackoffMax)) {
			return
		}
	}
	for p, b := range offs {
		at := b.Last
		if start != nil {
			at = min(max(start[p], b.First), b.Last)
		}
		s.startReader(p, at)
	}
	s.lastOK.Store(time.Now().UnixNano())
	s.started.Store(true)

	t := time.NewTicker(s.cfg.DiscoveryInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.discover()
		}
	}
}

// discover starts readers for new partitions (from their beginning), refreshes the high-water
// marks and confirms readiness when every partition is caught up.
func (s *Source) discover() {
	ctx, cancel := context.WithTimeout(s.ctx, 2*s.cfg.MaxWait+5*time.Second)
	defer cancel()
	offs, err := s.cn.Offsets(ctx, s.cfg.Topic)
	if err != nil {
		if s.ctx.Err() == nil {
			s.fail("metadata", err)
		}
		return
	}
	// The brokers answer again: an outage ends here even on an idle topic (no record to fetch)
	// and without a publish (a not-ready instance gets none through its balancer).
	quiet := s.cfg.BackoffMax + 2*s.cfg.MaxWait // longer than a failing reader's retry period
	s.reading.OKIfQuiet(quiet)
	s.writing.OKIfQuiet(quiet)
	caughtUp := true
	for p, b := range offs {
		if s.startReader(p, b.First) {
			s.cfg.Logger.Info("kafka: new partition", "topic", s.cfg.Topic, "partition", p, "offset", b.First)
			caughtUp = false
			continue
		}
		ps := s.stats.Part(p)
		if b.Last > ps.HighWater.Load() {
			ps.HighWater.Store(b.Last)
		}
		if b.Last > ps.Next.Load() {
			caughtUp = false
		}
	}
	if caughtUp {
		s.lastOK.Store(time.Now().UnixNano())
	}
}

func (s *Source) fail(cause string, err error) {
	s.lastErr.Store(&err)
	s.stats.FetchErrors.Add(1)
	if s.started.Load() {
		s.reading.Fail(cause, err)
		return
	}
	s.rl.Warn(cause, "kafka: request failed, retrying", "topic", s.cfg.Topic, "error", err)
}

// startReader starts the reader of partition p at offset at, unless it runs already.
func (s *Source) startReader(p int, at int64) bool {
	s.readersMu.Lock()
	defer s.readersMu.Unlock()
	if s.readers[p] {
		return false
	}
	s.readers[p] = true
	ps := s.stats.Part(p)
	ps.HighWater.Store(max(ps.HighWater.Load(), at))
	r := &client.PartReader{Config: &s.cfg, Conns: s.cn, Topic: s.cfg.Topic, Partition: p, Start: at, Stats: s.stats, Log: s.rl, Health: s.reading, Handle: s.handle}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select { // announce the start offset so that ids cover every partition from the first event
		case s.queue <- item{part: p, off: at}:
		case <-s.ctx.Done():
			return
		}
		r.Run(s.ctx)
	}()
	return true
}

// handle runs on a partition reader's goroutine: decode, then queue for the dispatcher.
func (s *Source) handle(ctx context.Context, m *client.Message) bool {
	s.stats.Records.Add(1)
	s.lastOK.Store(time.Now().UnixNano())
	ev := DecodeOrSkip(&s.cfg, s.stats, s.rl, m.Partition, m.Offset, m.Value, m.Headers)
	if ev == nil {
		return true
	}
	if RepeatRecord(s.seen, ev, m.Headers, m.Partition, m.Offset, m.Time) {
		s.stats.Duplicates.Add(1)
		return true
	}
	select {
	case s.queue <- item{part: m.Partition, off: m.Offset, ev: ev}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Source) dispatch() {
	defer s.wg.Done()
	select {
	case <-s.subscribed:
	case <-s.ctx.Done():
		return
	}
	for {
		select {
		case it := <-s.queue:
			s.deliver(it)
		case <-s.ctx.Done():
			return
		}
	}
}

// deliver advances the position vector, stamps the event id and calls the dispatch func.
func (s *Source) deliver(it item) {
	s.posMu.Lock()
	i, found := findEntry(s.vec, it.part)
	if !found {
		s.vec = append(s.vec, entry{})
		copy(s.vec[i+1:], s.vec[i:])
		s.vec[i] = entry{part: it.part, next: it.off}
	}
	if it.ev == nil {
		s.posMu.Unlock()
		return
	}
	s.vec[i].next = it.off + 1
	s.idBuf = appendPosition(s.idBuf[:0], s.vec, it.part)
	s.posMu.Unlock()
	it.ev.ID = string(s.idBuf)
	it.ev.Origin = RecordID(it.part, it.off)
	s.stats.Delivered.Add(1)
	s.stats.LastEvent.Store(time.Now().UnixNano())
	(*s.fn.Load())(it.ev)
}

func findEntry(vec []entry, part int) (int, bool) {
	lo, hi := 0, len(vec)
	for lo < hi {
		m := (lo + hi) / 2
		if vec[m].part < part {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(vec) && vec[lo].part == part
}

// Starting reports why the events topic is not being consumed yet (missing topic, brokers not
// answering): nil once the readers started. API writes wait for it (StartupCheck).
func (s *Source) Starting() error {
	if s.started.Load() {
		return nil
	}
	return s.Ready()
}
