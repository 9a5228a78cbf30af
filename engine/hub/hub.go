package hub

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/history"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/tracing"
)

// Sink receives items: a Socket.IO socket or an SSE stream. Deliver queues the item's shared
// bytes without blocking and returns the link to flush once the batch is queued (nil if none),
// and what became of the item (queued, or dropped: the connection is closed, or too slow and now
// closing).
type Sink interface {
	Deliver(it *Item) (flush conn.Link, outcome conn.Outcome)
	// End tells the sink its subscription ended for reason (conn.ReasonStreamDeleted,
	// conn.ReasonPermissionRevoked); the sink closes its transport.
	End(reason conn.CloseReason)
}

// Subscription is one subscriber of one stream scope.
type Subscription struct {
	Stream    string // stream.Stream.Key()
	StreamID  string
	Scope     string // tenant URN, "" for cross-tenant
	Criteria  *stream.Criteria
	Principal *auth.Principal
	Sink      Sink
	// Conn describes the connection for the operator routes (GET /push/v1/connections); zero
	// fields are left out of the listing.
	Conn ConnInfo
	// OnStart, when set, runs under the publish lock once the subscription is registered and
	// before any replayed or live item reaches Sink: a transport writes its acknowledgement there
	// (SSE response head), so an event published right after the client saw it is never missed.
	OnStart func()
	// StartID is set by Subscribe: the id of the last event published before the subscription
	// started, so everything after it is (or will be) delivered live. A subscription moving to
	// another process resumes there after its last delivered event, or after StartID.
	StartID string

	minSeq uint64 // items up to this seq were (or will be) replayed, not delivered live
	// shard is set once, by shard.add, before it looks at gone: Unsubscribe sets gone before
	// it loads shard, so one of the two always sees the other (an Unsubscribe racing the
	// Subscribe never leaves the subscription registered).
	shard atomic.Pointer[shard]
	// catching is set while the subscriber re-reads missed events from the source; live items
	// then wait in pending (guarded by mu).
	catching atomic.Bool
	mu       sync.Mutex
	pending  []*Item
	overflow bool
	index    int
	gone     atomic.Bool
	// refreshed is the principal of the latest token refresh (nil before any): a revocation
	// naming either token ends the subscription.
	refreshed atomic.Pointer[auth.Principal]
}

// Config tunes the hub. Zero values mean the defaults.
type Config struct {
	// Shards is the number of fan-out workers. Zero means GOMAXPROCS.
	Shards int
	// History bounds the replay window.
	History history.Config
	// Offsets appends each event's id to its Socket.IO events as the recovery offset.
	Offsets bool
	// Reread, when set, re-reads from the source the events after fromID up to and including
	// toID (ids as the source assigns them), for subscribers whose last id is older than the
	// history.
	Reread func(ctx context.Context, fromID, toID string, fn func(*source.Event)) error
	// Tracer records one span per event for its matching and fan-out; nil is tracing off (no
	// cost beyond a pointer test).
	Tracer *tracing.Tracer
}

// Stats are the hub's counters.
type Stats struct {
	Events     atomic.Int64
	Items      atomic.Int64
	Deliveries atomic.Int64
	Subs       atomic.Int64
	// RereadFailures counts catch-ups the source could not serve (the client got a reset).
	RereadFailures atomic.Int64
}

// Hub routes each event to the stream scopes it matches, projects it once per scope and queues
// the same bytes to every matching subscriber, sharded over worker goroutines.
type Hub struct {
	cfg      Config
	reg      atomic.Pointer[stream.Registry]
	hist     *history.History
	receipts *receipts // nil when the history is off
	streams  streamStats
	shards   []*shard
	Stats    Stats

	// sendMu orders the hand-off of items to the shards like their sequence numbers. Publish
	// takes it before pubMu and keeps it, without pubMu, while it blocks on a full shard queue,
	// so Subscribe and SetRegistry (pubMu only) never wait for a slow shard.
	sendMu sync.Mutex
	// pubMu orders sequence numbers, the history, routing and the registry with registration:
	// a subscription is added under it, so every event is either before it (replayed, or not
	// wanted) or after it (delivered live).
	pubMu  sync.Mutex
	seq    uint64
	lastID string // id of the latest published event
	next   atomic.Uint32
	quit   chan struct{}
	wg     sync.WaitGroup
}

// New starts a hub with its shard workers.
func New(cfg Config, reg *stream.Registry) *Hub {
	n := cfg.Shards
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	h := &Hub{cfg: cfg, hist: history.New(cfg.History), quit: make(chan struct{})}
	size, age := cfg.History.Size, cfg.History.Age
	if size == 0 {
		size = 10000 // history.Config's defaults
	}
	if age == 0 {
		age = 5 * time.Minute
	}
	h.receipts = newReceipts(size, age)
	h.reg.Store(reg)
	for i := 0; i < n; i++ {
		sh := &shard{hub: h, byStream: make(map[string][]*Subscription), ch: make(chan []*Item, 1024), dirty: make(map[conn.Link]struct{})}
		h.shards = append(h.shards, sh)
		h.wg.Add(1)
		go sh.run()
	}
	return h
}

// Registry returns the current stream registry.
func (h *Hub) Registry() *stream.Registry { return h.reg.Load() }

// Close stops the workers.
func (h *Hub) Close() {
	close(h.quit)
	h.wg.Wait()
}

// Publish routes ev and hands its items to every shard. It is called by one source goroutine;
// the order of calls is the delivery order. It blocks while a shard's queue is full (the
// source slows down to the slowest shard) holding only sendMu.
func (h *Hub) Publish(ev *source.Event) {
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	items := h.record(ev)
	if len(items) == 0 {
		return
	}
	h.Stats.Items.Add(int64(len(items)))
	for _, sh := range h.shards {
		select {
		case sh.ch <- items:
		case <-h.quit:
			return
		}
	}
}

// record numbers ev, adds it to the history and routes it, under the publish lock: an item
// numbered here reaches exactly the subscriptions registered before (those registered after
// have a minSeq at or above its number).
func (h *Hub) record(ev *source.Event) []*Item {
	h.pubMu.Lock()
	defer h.pubMu.Unlock()
	h.seq++
	seq := h.seq
	h.lastID = ev.ID
	h.hist.Add(seq, ev, time.Now())
	if ev.Backlog {
		return nil
	}
	h.Stats.Events.Add(1)
	if h.cfg.Tracer == nil && h.receipts == nil {
		return h.route(ev, seq, "")
	}
	return h.tracked(ev, seq)
}

// tracked routes ev inside its fan-out span (tracing on) and keeps its receipt (history on): one
// record per event, whose figures the shards add; the span ends and the receipt is complete when
// the last shard has delivered the event's items (at once when no stream matched).
func (h *Hub) tracked(ev *source.Event, seq uint64) []*Item {
	span := h.cfg.Tracer.StartFanout(tracing.Event{ID: ev.ID, TenantID: ev.TenantID,
		Namespace: ev.Namespace, Name: ev.Name, Traceparent: ev.Traceparent})
	items := h.route(ev, seq, "")
	f := &fanout{span: span, streams: int64(len(items))}
	f.Receipt.init(ev, seq, items, time.Now())
	if h.receipts != nil {
		h.receipts.add(&f.Receipt)
	}
	if len(items) == 0 {
		f.pending.Store(1)
		f.shardDone(counts{})
		return items
	}
	f.pending.Store(int32(len(h.shards)))
	for _, it := range items {
		it.fan = f
	}
	return items
}

// route projects ev for the scopes it matches (only streamKey's when non-empty).
func (h *Hub) route(ev *source.Event, seq uint64, streamKey string) []*Item {
	var items []*Item
	h.reg.Load().Route(ev, func(s *stream.Stream, item []byte) {
		if streamKey != "" && s.Key() != streamKey {
			return
		}
		items = append(items, &Item{Seq: seq, Event: ev, Stream: s, JSON: item, offsets: h.cfg.Offsets})
	})
	return items
}

// Subscribe adds sub. With lastID set, the events after it are replayed to sub before any live
// item (no gap, no duplicate): from the history when it still holds lastID, else — when the
// source can re-read (Config.Reread, Kafka) — from the source, while live items for sub wait in a
// buffer. When neither can, onGap runs before any live item reaches sub and Subscribe reports
// false. Re-reading runs on the caller's goroutine without holding the publish lock.
func (h *Hub) Subscribe(sub *Subscription, lastID string, onGap func()) (replayed bool) {
	replayed = h.subscribe(sub, lastID, onGap)
	// The caller authorised sub against the registry of its time; a configuration change that
	// landed before sub was registered did not see it, so it is checked against the current one.
	if reason, ok := endReason(h.reg.Load(), sub); ok {
		h.end(sub, reason)
	}
	return replayed
}

func (h *Hub) subscribe(sub *Subscription, lastID string, onGap func()) (replayed bool) {
	h.pubMu.Lock()
	sub.minSeq = h.seq
	upTo := h.lastID
	sub.StartID = upTo
	sh := h.shards[int(h.next.Add(1))%len(h.shards)]
	if !sh.add(sub) {
		// Unsubscribed already (the connection closed while it was being authorised): nothing
		// to start, nothing to replay.
		h.pubMu.Unlock()
		return true
	}
	if lastID == "" {
		sub.start()
		h.pubMu.Unlock()
		return true
	}
	entries, ok := h.hist.After(lastID, sub.minSeq, time.Now())
	if !ok && h.cfg.Reread != nil && upTo != "" {
		sub.catching.Store(true)
		sub.start()
		h.pubMu.Unlock()
		return h.catchUp(sub, lastID, upTo, onGap)
	}
	defer h.pubMu.Unlock()
	sub.start()
	if !ok {
		if onGap != nil {
			onGap() // before any live item: the publish lock is held
		}
		return false
	}
	var flush conn.Link
	for _, e := range entries {
		for _, it := range h.route(e.Event, e.Seq, sub.Stream) {
			if l := deliverTo(sub, it); l != nil {
				flush = l
			}
		}
	}
	if flush != nil {
		flush.Flush()
	}
	return true
}

func (sub *Subscription) start() {
	if sub.OnStart != nil {
		sub.OnStart()
	}
}

func deliverTo(sub *Subscription, it *Item) conn.Link {
	if !sub.Criteria.Match(it.JSON) {
		return nil
	}
	l, _ := sub.Sink.Deliver(it)
	return l
}

// catchUp re-reads (lastID, upTo] from the source for sub, then releases the live items that
// arrived meanwhile, in order.
func (h *Hub) catchUp(sub *Subscription, lastID, upTo string, onGap func()) bool {
	ctx, cancel := context.WithTimeout(context.Background(), rereadTimeout)
	defer cancel()
	var flush conn.Link
	err := h.cfg.Reread(ctx, lastID, upTo, func(ev *source.Event) {
		for _, it := range h.route(ev, 0, sub.Stream) {
			if l := deliverTo(sub, it); l != nil {
				flush = l
			}
		}
	})
	sub.mu.Lock()
	if err == nil && sub.overflow {
		err = errCatchUpOverflow
	}
	if err != nil && onGap != nil {
		onGap()
	}
	for _, it := range sub.pending {
		if l := deliverTo(sub, it); l != nil {
			flush = l
		}
	}
	sub.pending = nil
	sub.catching.Store(false)
	sub.mu.Unlock()
	if flush != nil {
		flush.Flush()
	}
	if err != nil {
		h.Stats.RereadFailures.Add(1)
	}
	return err == nil
}

var errCatchUpOverflow = errors.New("hub: live items overflowed while catching up")

// rereadTimeout bounds a catch-up from the source.
const rereadTimeout = 10 * time.Second

// maxPending bounds the live items buffered for one subscriber while it catches up.
const maxPending = 10000

// Seen reports whether the event with id is in the history (a subscription resuming after it
// replays from there, without going to the source).
func (h *Hub) Seen(id string) bool { return h.hist.Has(id) }

// Unsubscribe removes sub (idempotent). It reports whether sub was still registered, so that of
// several parties ending one subscription exactly one goes on to tell its client.
func (h *Hub) Unsubscribe(sub *Subscription) bool { return h.remove(sub) }

// remove takes sub out of its shard; it reports false when sub was gone already.
func (h *Hub) remove(sub *Subscription) bool {
	if sub.gone.Swap(true) {
		return false
	}
	if sh := sub.shard.Load(); sh != nil {
		sh.remove(sub)
	}
	return true
}

// SetRegistry installs a rebuilt registry and ends the subscriptions whose stream disappeared
// ("stream-deleted") or whose principal may no longer subscribe ("permission-revoked").
func (h *Hub) SetRegistry(reg *stream.Registry) {
	type ended struct {
		sub    *Subscription
		reason conn.CloseReason
	}
	var ends []ended
	// The publish lock covers the scan too: a subscription is registered and started under it,
	// so every one seen here has written its acknowledgement (OnStart) before it is ended.
	h.pubMu.Lock()
	h.reg.Store(reg)
	for _, sh := range h.shards {
		sh.mu.Lock()
		for _, subs := range sh.byStream {
			for _, sub := range subs {
				if reason, ok := endReason(reg, sub); ok {
					ends = append(ends, ended{sub, reason})
				}
			}
		}
		sh.mu.Unlock()
	}
	h.pubMu.Unlock()
	for _, e := range ends {
		h.end(e.sub, e.reason)
	}
}

// endReason says why reg no longer allows sub (false when it does).
func endReason(reg *stream.Registry, sub *Subscription) (conn.CloseReason, bool) {
	s, ok := reg.Lookup(sub.Scope, sub.StreamID)
	switch {
	case !ok:
		return conn.ReasonStreamDeleted, true
	case !s.CanSubscribe(sub.Principal):
		return conn.ReasonPermissionRevoked, true
	}
	return "", false
}

// end removes sub and tells its sink why, once: a subscription gone already (the client left,
// or another change ended it) is not ended twice.
func (h *Hub) end(sub *Subscription, reason conn.CloseReason) {
	if h.remove(sub) {
		sub.Sink.End(reason)
	}
}

// deliverOne is the common case of one event for one stream scope: the subscriber list is copied
// under the lock (into a reused slice), then each subscriber is written and flushed at once —
// no lock held across the writes, no set of links to remember.
func (sh *shard) deliverOne(it *Item) {
	subs := sh.subscribers(it.Stream.Key())
	var c counts
	for _, sub := range subs {
		if it.Seq <= sub.minSeq || sub.gone.Load() || !sub.Criteria.Match(it.JSON) {
			continue
		}
		c.targeted++
		if sub.catching.Load() && sub.hold(it) {
			c.delivered++
			continue
		}
		l, o := sub.Sink.Deliver(it)
		c.count(o)
		if l != nil {
			l.Flush()
		}
	}
	sh.release(subs)
	sh.hub.Stats.Deliveries.Add(c.targeted)
	sh.hub.countStream(it, c)
	if it.fan != nil {
		it.fan.shardDone(c)
	}
}

// hold buffers it while sub catches up; false when the catch-up just ended (deliver now).
func (sub *Subscription) hold(it *Item) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if !sub.catching.Load() {
		return false
	}
	if len(sub.pending) >= maxPending {
		sub.overflow = true // the catch-up is hopelessly behind: it ends with a gap notice
		return true
	}
	sub.pending = append(sub.pending, it)
	return true
}

// shard owns a share of the subscriptions and delivers to them on its own goroutine.
type shard struct {
	hub      *Hub
	mu       sync.Mutex
	byStream map[string][]*Subscription
	ch       chan []*Item
	dirty    map[conn.Link]struct{}
	scratch  []*Subscription // reused by subscribers (only the shard's goroutine touches it)
}

// add registers sub, unless it was unsubscribed already (false).
func (sh *shard) add(sub *Subscription) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sub.shard.Store(sh) // before gone is read: see Subscription.shard
	if sub.gone.Load() {
		return false
	}
	list := sh.byStream[sub.Stream]
	sub.index = len(list)
	sh.byStream[sub.Stream] = append(list, sub)
	sh.hub.Stats.Subs.Add(1)
	sh.hub.streams.of(sub.Scope, sub.StreamID).Subscriptions.Add(1)
	return true
}

func (sh *shard) remove(sub *Subscription) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := sh.byStream[sub.Stream]
	i := sub.index
	if i >= len(list) || list[i] != sub {
		return
	}
	sh.hub.Stats.Subs.Add(-1)
	sh.hub.streams.of(sub.Scope, sub.StreamID).Subscriptions.Add(-1)
	last := len(list) - 1
	list[i] = list[last]
	list[i].index = i
	list[last] = nil
	if last == 0 {
		delete(sh.byStream, sub.Stream)
		return
	}
	sh.byStream[sub.Stream] = list[:last]
}

// subscribers copies the subscribers of streamKey into the shard's scratch slice under the
// lock; the caller delivers outside it and then calls release. Only the shard's goroutine
// calls it.
func (sh *shard) subscribers(streamKey string) []*Subscription {
	sh.mu.Lock()
	subs := append(sh.scratch[:0], sh.byStream[streamKey]...)
	sh.mu.Unlock()
	return subs
}

// release drops the references subscribers copied and keeps the slice for the next item.
func (sh *shard) release(subs []*Subscription) {
	clear(subs)
	sh.scratch = subs[:0]
}

// run delivers batches: it drains whatever is queued, queues every item to every matching
// subscriber, then flushes each touched connection once — a burst of events costs one writev
// per connection.
func (sh *shard) run() {
	defer sh.hub.wg.Done()
	batch := make([][]*Item, 0, 64)
	for {
		select {
		case items := <-sh.ch:
			batch = append(batch[:0], items)
		drain:
			for len(batch) < cap(batch) {
				select {
				case more := <-sh.ch:
					batch = append(batch, more)
				default:
					break drain
				}
			}
			sh.deliver(batch)
		case <-sh.hub.quit:
			return
		}
	}
}

func (sh *shard) deliver(batch [][]*Item) {
	if len(batch) == 1 && len(batch[0]) == 1 {
		sh.deliverOne(batch[0][0])
		return
	}
	var n int64
	for _, items := range batch {
		var c, before counts // one event's items share its fan-out span; before: c at the item's start
		for _, it := range items {
			// The list is copied per item, like deliverOne, so no Deliver (which takes session
			// locks and may answer a polling GET) runs under the shard lock: Subscribe and
			// Unsubscribe never wait for the slowest subscriber of a batch.
			subs := sh.subscribers(it.Stream.Key())
			for _, sub := range subs {
				if it.Seq <= sub.minSeq || sub.gone.Load() || !sub.Criteria.Match(it.JSON) {
					continue
				}
				c.targeted++
				if sub.catching.Load() && sub.hold(it) {
					c.delivered++
					continue
				}
				l, o := sub.Sink.Deliver(it)
				c.count(o)
				if l != nil {
					sh.dirty[l] = struct{}{}
				}
			}
			sh.release(subs)
			sh.hub.countStream(it, c.since(before))
			before = c
		}
		n += c.targeted
		if len(items) > 0 && items[0].fan != nil {
			items[0].fan.shardDone(c)
		}
	}
	for l := range sh.dirty {
		l.Flush()
	}
	clear(sh.dirty)
	sh.hub.Stats.Deliveries.Add(n)
}
