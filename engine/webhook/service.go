package webhook

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/journal"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/tracing"
)

// DefaultSchedule is the delay before each attempt, after the previous one failed (Svix's): now,
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — eight attempts over about 27.5 hours.
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Config configures New: the operator's Settings and what the assembling code supplies.
type Config struct {
	Settings
	// Store keeps pending deliveries, dead letters, endpoint state and attempts. Required.
	Store *store.Store
	// Configs returns the core document and every tenant's document (the latest rebuild's documents).
	// Required.
	Configs func() (core []byte, tenants map[string][]byte)
	// Publisher receives push-service:webhook-triggered and push-service:webhook-disabled. Nil
	// means they are not emitted.
	Publisher source.Publisher
	// Logger: nil means slog.Default(). Secrets are never logged.
	Logger *slog.Logger
	// Registerer receives the pushgate_webhook_* metrics. Nil means none are registered.
	Registerer prometheus.Registerer
	// Tracer records a span per attempt, whose traceparent the request carries; nil is tracing
	// off (the request then carries the event's own traceparent, if any).
	Tracer *tracing.Tracer
	// Journal is the path of the journal that makes recorded deliveries durable before the store
	// commit that applies them (journaled.go); empty means each gathered batch is committed to the
	// store before it is acknowledged.
	Journal string
	// JournalSize is the size of a journal created (0: journalSize); an existing one keeps its own.
	JournalSize int64
}

// Settings are the operator's tunables (the --webhook-* flags). Zero values mean the documented
// defaults.
type Settings struct {
	// Schedule is the delay before each attempt (its length is the number of attempts), ±20 %
	// jitter on all but a zero delay. Empty means DefaultSchedule.
	Schedule []time.Duration
	// Timeout bounds one attempt (connect, send, response head and body). Zero means 15s.
	Timeout time.Duration
	// MaxInFlight caps the concurrent attempts to one endpoint. Zero means 4.
	MaxInFlight int
	// BreakerThreshold consecutive failures open an endpoint's circuit for BreakerCooldown
	// (doubling up to 20× that, 10 min by default, while the half-open probe keeps failing); due deliveries wait and are
	// not charged an attempt. Zero means 5 failures and 30s.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// DisableAfter disables an endpoint that has failed without a success for this long (and
	// emits push-service:webhook-disabled). Zero means 120h (5 days); negative never disables.
	DisableAfter time.Duration
	// RotationOverlap is how long the previous secret keeps signing after a rotation. Zero means 24h.
	RotationOverlap time.Duration
	// Guard is the SSRF policy (the zero Guard refuses loopback, private, link-local and
	// metadata addresses).
	Guard Guard
	// RootCAs verify the receivers' certificates over https; nil means the system's roots.
	RootCAs *x509.CertPool
	// SecretsKey, when set, seals the signing secrets in the store and on the config topic
	// (seal.go); every instance needs the same key.
	SecretsKey string
	// KeepAttempts is the attempt-log length per endpoint. Zero means 100.
	KeepAttempts int
	// MaxQueued bounds the events waiting to be matched (beyond it they are dropped and counted).
	// Zero means 65536.
	MaxQueued int
	// MaxPending bounds the deliveries held (waiting, in flight or due for a retry): beyond it,
	// events that webhooks list are refused (backlog.go). Zero means DefaultMaxPending; negative
	// means no bound.
	MaxPending int
	// EarlyAck lets the ingest answer before the event's webhook deliveries are durable
	// (--webhook-early-ack): less CPU per event with few events in flight, but a crash before
	// their journal write (~1 ms later) may lose acknowledged deliveries. Without Kafka only.
	EarlyAck bool
}

func (c *Settings) applyDefaults() {
	if len(c.Schedule) == 0 {
		c.Schedule = DefaultSchedule
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 4
	}
	if c.BreakerThreshold <= 0 {
		c.BreakerThreshold = 5
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = 30 * time.Second
	}
	if c.DisableAfter == 0 {
		c.DisableAfter = 120 * time.Hour
	}
	if c.RotationOverlap <= 0 {
		c.RotationOverlap = 24 * time.Hour
	}
	if c.KeepAttempts <= 0 {
		c.KeepAttempts = 100
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 65536
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
}

// Service sends webhooks. Create it with New, feed it with Observe, run it with Start, stop it
// with Close. All methods are safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	sealer *sealer // nil without Settings.SecretsKey
	macs   macs    // pooled HMAC states per signing secret (body.go)
	hooks  atomic.Pointer[set]

	tmu      sync.Mutex
	tracked  map[*source.Event]tracking // ingested events awaiting their durable record (durable.go)
	ntracked atomic.Int64

	qmu     sync.Mutex
	queue   []*source.Event
	qsignal chan struct{}
	gat     gatherer // the matcher goroutine's own (gather.go)

	mu      sync.Mutex // guards everything below
	eps     map[string]*endpoint
	pending map[string]*delivery
	// npending is len(pending), and full whether the last admission refused (backlog.go).
	npending atomic.Int64
	full     atomic.Bool
	marking  []*eventGroup // event records whose mark changed (eventrecord.go)
	due      dheap
	closed   bool

	attempts attemptRing
	seq      atomic.Int64 // last delivery Seq

	rmu     sync.Mutex
	retired []store.WebhookPut // removals of delivered records, committed by retireLoop (commit.go)
	jops    []store.WebhookPut // with the journal: removals of event records, journaled (journaled.go)
	rsignal chan struct{}
	fmu     sync.Mutex // one flushRetired at a time

	jr      *journal.Journal // nil without Config.Journal (journaled.go)
	jmu     sync.Mutex
	ju      unapplied
	amu     sync.Mutex    // one applyJournal at a time
	wsignal chan struct{} // the journal is past half full: retireLoop applies it
	// beforeBulk, when set (tests only), runs in applyJournal before the bulk commit.
	beforeBulk func()
	idle       chan func() // idle attempt goroutines receive here (commit.go)

	wake    chan struct{}
	stop    chan struct{}
	states  chan func() // state writes of ReloadThen, run in order by stateLoop
	started atomic.Bool
	loops   sync.WaitGroup
	flights sync.WaitGroup
	stats   stats

	receipts eventReceipts // per-event figures for GET /push/v1/events/{eventId}
}

// endpointState is an endpoint's state: the shared part and the local failure clock (state.go).
type endpointState struct {
	sharedState
	localState
}

// endpoint is the runtime state of one configured webhook; guarded by Service.mu.
type endpoint struct {
	key       string
	sc        scoped
	st        endpointState
	version   int64 // of the shared state in the store
	confirmed bool  // the shared state was read back from the config topic (always, without Kafka)
	usable    bool  // the shared state was read and opened here (seal.go)
	writing   bool  // its new shared state is being written (writeStates): not created again
	inflight  int
	waiting   []*delivery // due, held back by MaxInFlight or the half-open probe
	fails     int         // consecutive
	open      time.Time   // circuit open until
	cooldown  time.Duration
	throttle  *throttle   // nil without Hook.RateLimit (controls.go)
	ordered   bool        // Hook.Ordered
	order     []*delivery // an ordered endpoint's pending deliveries in event order
	client    *sender     // nil when its URL cannot be parsed (every attempt then fails)
}

// trigger is what webhook-triggered reports about the event that caused a delivery.
type trigger struct {
	TenantID      string          `json:"tenantId"`
	Namespace     string          `json:"namespace"`
	Name          string          `json:"name"`
	CorrelationID string          `json:"correlationId,omitempty"`
	Context       json.RawMessage `json:"context,omitempty"`
}

// delivery is one (event, endpoint) pair; the JSON is its store record.
type delivery struct {
	ID         string          `json:"id"`
	Endpoint   string          `json:"endpoint"`
	Body       json.RawMessage `json:"body"`
	Trigger    trigger         `json:"trigger"`
	Attempts   int             `json:"attempts"`
	Due        time.Time       `json:"due"`
	Created    time.Time       `json:"created"`
	LastError  string          `json:"lastError,omitempty"`
	DeadAt     time.Time       `json:"deadAt,omitzero"`
	DeadReason string          `json:"deadReason,omitempty"`
	Test       bool            `json:"test,omitempty"`
	// Traceparent is the event's W3C trace context (kept, as ADSP keeps it on the item, so that
	// every attempt — after a restart too — continues the producer's trace).
	Traceparent string `json:"traceparent,omitempty"`
	// EventID is the event's id, for its receipt.
	EventID string `json:"eventId,omitempty"`
	// Seq orders the deliveries of an ordered endpoint (event order; increasing across restarts).
	Seq int64 `json:"seq,omitempty"`

	key       string      // its key in the store's pending bucket when not the id (pendingKey)
	grp       *eventGroup // its event record while it has no record of its own (eventrecord.go)
	gi        int         // its position in its event record
	own       bool        // it has a record of its own in the pending bucket
	idx       int         // position in Service.due, -1 when not there
	inflight  bool        // an attempt is running
	cancelled bool        // its webhook was removed
}

// New loads the endpoint state and the pending deliveries from the store and compiles the current
// configuration. Nothing is sent before Start.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Configs == nil {
		return nil, errors.New("webhook: Config.Store and Config.Configs are required")
	}
	cfg.applyDefaults()
	sealer, err := newSealer(cfg.SecretsKey)
	if err != nil {
		return nil, fmt.Errorf("webhook: secrets key: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		cfg: cfg, log: cfg.Logger, sealer: sealer,
		qsignal: make(chan struct{}, 1), gat: newGatherer(), eps: map[string]*endpoint{}, pending: map[string]*delivery{},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), states: make(chan func(), 64),
		rsignal: make(chan struct{}, 1), wsignal: make(chan struct{}, 1), idle: make(chan func()),
		attempts: attemptRing{keep: cfg.KeepAttempts},
	}
	s.seq.Store(time.Now().UnixNano())
	s.stats.init(s, cfg.Registerer)
	if err := s.Reload(); err != nil {
		return nil, err
	}
	if cfg.Journal != "" {
		if err := s.openJournal(cfg.Journal); err != nil {
			return nil, fmt.Errorf("webhook: journal: %w", err)
		}
	}
	var loadErr error
	var stale []store.WebhookPut
	err = cfg.Store.EachWebhook(store.WebhookPending, func(k string, v []byte) error {
		d := &delivery{idx: -1}
		if err := json.Unmarshal(v, d); err != nil {
			loadErr = errors.Join(loadErr, err)
			return nil
		}
		if k != d.ID {
			d.key = k
		}
		d.own = true
		if !s.addPendingLocked(d) { // recorded twice (a Kafka batch read again): keep one
			stale = append(stale, store.WebhookPut{Bucket: store.WebhookPending, Key: k})
		}
		return nil
	})
	if err == nil && len(stale) > 0 {
		err = cfg.Store.WriteWebhooks(store.WebhookBatch{Puts: stale})
	}
	if err == nil {
		err = s.loadEvents()
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: load pending deliveries: %w", err)
	}
	if loadErr != nil {
		s.log.Error("webhook: some pending deliveries could not be read", "err", loadErr)
	}
	return s, nil
}

// Reload recompiles the webhooks of the current documents. A new webhook gets a secret; a removed
// one stops at once: its queued deliveries are cancelled (counted) and its in-flight attempt is
// aborted. Webhooks of a document that fails to compile are kept as they were.
func (s *Service) Reload() error { return s.ReloadThen(nil) }

// ReloadThen is Reload calling matched (when set) as soon as events are matched against the new
// webhooks — before the state of new and removed webhooks is written. That write replicates to
// the config topic in Kafka mode (up to the publish timeout), so it runs after, with no lock of
// the service held, and — once the service is started and matched is set — on the service's
// state goroutine, so the next reload does not wait for it; a new webhook's deliveries wait,
// unconfirmed, until its state is stored. Errors of a queued write are logged.
func (s *Service) ReloadThen(matched func()) error {
	core, tenants := s.cfg.Configs()
	set, err := compile(core, tenants)
	if err != nil {
		s.log.Error("webhook: some documents were skipped", "err", err)
	}
	s.mu.Lock()
	if old := s.hooks.Load(); old != nil {
		for k, sc := range old.all {
			if _, kept := set.all[k]; !kept && set.failed[sc.Tenant] {
				set.add(sc)
			}
		}
	}
	var creates []stateWrite
	var replaced []*sender // senders of changed URLs: their idle connections closed after the lock
	for k, sc := range set.all {
		ep := s.eps[k]
		fresh := ep == nil
		if fresh {
			ep = &endpoint{key: k, sc: sc, cooldown: s.cfg.BreakerCooldown}
			s.eps[k] = ep
		}
		ep.sc = sc
		if old := s.setSenderLocked(ep); old != nil {
			replaced = append(replaced, old)
		}
		s.setControlsLocked(ep)
		w, err := s.readStateLocked(ep, fresh)
		if err != nil {
			// Its deliveries wait (unconfirmed) rather than being signed with a wrong secret.
			s.log.Error("webhook: endpoint state not usable; its deliveries wait", "webhook", sc.Hook.Key, "err", err)
		}
		if w != nil {
			creates = append(creates, *w)
		}
	}
	var puts []store.WebhookPut
	var removed []string
	var cancelled []*delivery
	var aborted []*sender // closed after the lock is released: closing sockets is not bookkeeping
	for k, ep := range s.eps {
		if _, ok := set.all[k]; ok {
			continue
		}
		aborted = append(aborted, ep.client)
		delete(s.eps, k)
		s.attempts.forget(k)
		removed = append(removed, k)
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookState, Key: k})
		for _, d := range s.pending {
			if d.Endpoint == k {
				cancelled = append(cancelled, d)
			}
		}
	}
	for _, d := range cancelled {
		s.cancelLocked(d)
		if !d.inflight {
			puts = append(puts, store.WebhookPut{Bucket: store.WebhookPending, Key: pendingKey(d)})
		}
	}
	for _, w := range creates {
		w.ep.writing = true
	}
	s.hooks.Store(set)
	s.mu.Unlock()
	for _, c := range aborted {
		c.abort()
	}
	for _, c := range replaced {
		c.closeIdle()
	}
	var werr error
	if len(puts) > 0 {
		if err := s.cfg.Store.WriteWebhooks(store.WebhookBatch{Puts: puts}); err != nil {
			werr = fmt.Errorf("webhook: store endpoint state: %w", err)
		}
	}
	write := func() error {
		err := s.writeStates(creates, removed)
		s.kick()
		return err
	}
	// A state write that replicates (the Kafka config topic) may take up to the publish timeout:
	// it runs on the state goroutine, after matched, so nothing waiting for this reload waits for
	// the broker (its secret is not usable before the topic confirms it anyway). A local write
	// (bbolt only) is done before matched: the API write that waits on it then reads its
	// webhook's secret at once.
	states := len(creates)+len(removed) > 0
	async := states && matched != nil && s.started.Load() && s.cfg.Store.Replicates()
	if states && !async {
		werr = errors.Join(werr, write())
	}
	if matched != nil {
		matched()
	}
	if async {
		select {
		case s.states <- func() {
			if err := write(); err != nil {
				s.log.Error("webhook: state write failed", "err", err)
			}
		}:
		case <-s.stop:
		}
	}
	s.kick()
	return werr
}

// Observe offers an event; it never blocks and does no I/O (it runs on the hub's goroutine). Events
// no webhook lists are dropped at once; the others are matched and recorded on the service's own
// goroutine.
func (s *Service) Observe(ev *source.Event) {
	set := s.hooks.Load()
	if ev.Backlog || set == nil || !set.candidates(ev) {
		s.settle(ev, nil)
		return
	}
	s.qmu.Lock()
	if len(s.queue) >= s.cfg.MaxQueued {
		s.qmu.Unlock()
		s.settle(ev, ErrNotRecorded)
		if s.stats.dropped.Add(1) == 1 {
			s.log.Error("webhook: match queue full; events are being dropped", "max", s.cfg.MaxQueued)
		}
		return
	}
	s.queue = append(s.queue, ev)
	s.qmu.Unlock()
	select {
	case s.qsignal <- struct{}{}:
	default:
	}
}

// Record matches a batch of events and durably records their deliveries before it returns: the
// hand-off of Kafka mode, where the webhook consumer group commits the batch's offsets only after
// Record returned nil (a crash before that makes another instance handle the records again, with
// the same delivery ids, since they derive from the record's position).
func (s *Service) Record(batch []*source.Event) error { return s.record(batch) }

// Start runs the matcher and the scheduler.
func (s *Service) Start() {
	if s.started.Swap(true) {
		return
	}
	s.loops.Add(4)
	go s.matchLoop()
	go s.scheduleLoop()
	go s.retireLoop()
	go s.stateLoop()
}

// stateLoop writes the state of new and removed webhooks (ReloadThen), one reload after the
// other, so that a slow write (replicated to the config topic) delays neither the reloads after
// it nor the API writes waiting for them.
func (s *Service) stateLoop() {
	defer s.loops.Done()
	for {
		select {
		case <-s.stop:
			return
		case job := <-s.states:
			job()
		}
	}
}

// Close stops sending: in-flight attempts are aborted and stay pending in the store (they are sent
// again, with the same webhook-id, after a restart). It waits for the goroutines to end.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	aborted := make([]*sender, 0, len(s.eps))
	for _, ep := range s.eps {
		aborted = append(aborted, ep.client)
	}
	s.mu.Unlock()
	for _, c := range aborted {
		c.abort()
	}
	close(s.stop)
	s.loops.Wait()
	s.settleRemaining()
	s.flights.Wait()
	s.flushRetired()
	if s.jr != nil {
		if err := s.applyJournal(); err != nil {
			s.log.Error("webhook: applying the journal at shutdown; applied at the next start", "err", err)
		}
		if err := s.jr.Close(); err != nil {
			s.log.Error("webhook: closing the journal", "err", err)
		}
	}
}

func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) matchLoop() {
	defer s.loops.Done()
	for {
		select {
		case <-s.stop:
			// A clean stop records what was observed and not matched yet: events no ingest waits
			// for (--webhook-early-ack, the hub's own) would otherwise lose their webhooks.
			if batch := s.takeQueue(); len(batch) > 0 {
				if err := s.record(batch); err != nil {
					s.log.Error("webhook: could not record deliveries at shutdown", "events", len(batch), "err", err)
				}
			}
			return
		case <-s.qsignal:
		}
		batch := s.gat.gather(s, s.takeQueue())
		s.stats.commits.Observe(float64(len(batch)))
		if err := s.record(batch); err != nil && !errors.Is(err, ErrBacklogFull) { // admit logs a full backlog once
			s.log.Error("webhook: could not record deliveries", "events", len(batch), "err", err)
		}
		s.gat.committed()
	}
}

// record matches a batch of events and stores all their deliveries in one transaction before any
// is scheduled.
func (s *Service) record(batch []*source.Event) error {
	err := s.recordBatch(batch)
	s.settleAll(batch, err)
	return err
}

func (s *Service) recordBatch(batch []*source.Event) error {
	set := s.hooks.Load()
	now := time.Now()
	var ds []*delivery
	var puts []store.WebhookPut
	for _, ev := range batch {
		var proto *delivery // the event's body and trigger, built once and shared by its deliveries
		matched := set.match(ev)
		for i, sc := range matched {
			if proto == nil {
				proto = newDelivery("", "", ev, now)
			}
			key := sc.endpointKey()
			var d *delivery
			if i == len(matched)-1 { // the last takes the prototype itself (one event, one webhook: no copy)
				d = proto
				d.ID, d.Endpoint = deliveryID(ev.ID, key), key
			} else {
				d = proto.forEndpoint(deliveryID(ev.ID, key), key)
			}
			d.Due = now.Add(s.delay(0))
			d.Seq = s.seq.Add(1)
			d.key = seqKey(d.Seq, d.ID)
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	s.mu.Lock()
	fresh := ds[:0]
	for _, d := range ds {
		if _, known := s.pending[d.ID]; !known { // a batch read again (Kafka) is not recorded twice
			fresh = append(fresh, d)
		}
	}
	s.mu.Unlock()
	ds = fresh
	if err := s.admit(len(ds)); err != nil {
		return err
	}
	puts = s.recordEvents(ds, puts)
	if s.jr != nil && s.journalRecords(ds, puts) {
		return nil
	}
	retired := s.takeRetired() // one transaction, one fsync, for all (commit.go)
	if s.jr == nil {
		retired = append(retired, s.takeMarks()...)
	}
	if err := s.cfg.Store.WriteWebhooksNow(store.WebhookBatch{Puts: append(puts, retired...)}); err != nil {
		s.giveBackRetired(retired)
		return err
	}
	s.startRecorded(ds)
	return nil
}

// forEndpoint copies d for one endpoint; the body (never modified) is shared.
func (d *delivery) forEndpoint(id, endpoint string) *delivery {
	c := *d
	c.ID, c.Endpoint, c.idx = id, endpoint, -1
	return &c
}

func newDelivery(id, endpoint string, ev *source.Event, now time.Time) *delivery {
	raw := parseEvent(ev)
	return &delivery{
		ID: id, Endpoint: endpoint, Body: appendBodyOf(make([]byte, 0, bodySize(ev, raw)), ev, raw), Created: now, idx: -1, Traceparent: ev.Traceparent, EventID: ev.ID,
		Trigger: trigger{TenantID: ev.TenantID, Namespace: ev.Namespace, Name: ev.Name,
			CorrelationID: ev.CorrelationID, Context: raw.Context},
	}
}
