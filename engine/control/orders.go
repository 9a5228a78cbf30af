package control

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/operator"
)

// OrderLog receives the operator orders from the store (published here, or read from the config
// topic) and hands them to every consumer: the token verifiers and the hubs of this process, the
// worker link. It keeps the revocations that have not ended, so that a consumer registered later
// (the edge, built after the config topic was read; a worker that connects later) still gets
// them.
type OrderLog struct {
	// Logger receives the orders that do not decode. Nil means slog.Default().
	Logger *slog.Logger
	mu     sync.Mutex          // held while consumers run, so none sees an order twice or misses one
	seen   map[string]struct{} // ids of active
	active []*operator.Order   // revocations, until they end
	hooks  []func(*operator.Order)
}

// Receive decodes one order (its JSON) and hands it to the consumers.
func (l *OrderLog) Receive(value []byte) {
	o, err := operator.Decode(value)
	if err != nil {
		log := l.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("operator order skipped", "err", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.seen[o.ID]; dup {
		return // a revocation read twice (the topic re-read after a reconnect)
	}
	now := time.Now()
	l.pruneLocked(now)
	if o.Kind == operator.KindRevoke && !now.Before(o.Until) {
		return // ended already (an old record of the config topic): nothing to honour
	}
	if o.Kind == operator.KindRevoke {
		if l.seen == nil {
			l.seen = map[string]struct{}{}
		}
		l.seen[o.ID] = struct{}{}
		l.active = append(l.active, o)
	}
	for _, fn := range l.hooks {
		fn(o)
	}
}

func (l *OrderLog) pruneLocked(now time.Time) {
	kept := l.active[:0]
	for _, o := range l.active {
		if now.Before(o.Until) {
			kept = append(kept, o)
		} else {
			delete(l.seen, o.ID)
		}
	}
	clear(l.active[len(kept):])
	l.active = kept
}

// OnOrder registers fn for every order from now on, after giving it the revocations still in
// force. fn must not block, nor call OnOrder.
func (l *OrderLog) OnOrder(fn func(*operator.Order)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(time.Now())
	for _, o := range l.active {
		fn(o)
	}
	l.hooks = append(l.hooks, fn)
}

// OnOrder registers fn for every operator order of the deployment (OrderLog.OnOrder).
func (p *Plane) OnOrder(fn func(*operator.Order)) { p.orders.OnOrder(fn) }

// Order publishes an operator order: every process of the deployment applies it (operator's
// package doc). It returns once the order is replicated (Kafka) or applied here.
func (p *Plane) Order(o *operator.Order) error {
	var keep time.Time
	if o.Kind == operator.KindRevoke {
		keep = o.Until // a revocation outlives a restart of a standalone server
	}
	return p.Store.PublishOrder(o.ID, o.Encode(), keep)
}

// Edges are the processes holding this deployment's connections, as the operator routes see
// them: the edge in one process, the workers (through their sockets) for --workers.
type Edges interface {
	Connections(f operator.Filter) ([]operator.Connection, error)
	Receipts(eventID, sub string) ([]operator.InstanceReceipt, error)
}

// SetEdges installs the connection holders the operator routes ask.
func (p *Plane) SetEdges(e Edges) { p.edges.Store(&e) }

// errNoEdges answers an operator route before any edge was installed.
var errNoEdges = errors.New("control: no edge to ask")

// Connections lists the connections matching f.
func (p *Plane) Connections(f operator.Filter) ([]operator.Connection, error) {
	e := p.edges.Load()
	if e == nil {
		return nil, errNoEdges
	}
	return (*e).Connections(f)
}

// Receipt joins the edges' receipts of an event and the webhook figures of this process (the
// webhook sender); false when no edge has one.
func (p *Plane) Receipt(eventID, sub string) (*operator.EventReceipt, bool, error) {
	e := p.edges.Load()
	if e == nil {
		return nil, false, errNoEdges
	}
	parts, err := (*e).Receipts(eventID, sub)
	if err != nil {
		return nil, false, err
	}
	var wh operator.WebhookFigures
	if p.Webhooks != nil {
		f, ok := p.Webhooks.EventReceipt(eventID)
		for i := 0; !ok && i < len(parts); i++ { // Kafka: the webhook group names the record
			if parts[i].SourceRecord != "" {
				f, ok = p.Webhooks.EventReceipt(parts[i].SourceRecord)
			}
		}
		if ok {
			wh = operator.WebhookFigures{Queued: f.Queued, Delivered: f.Delivered, Dead: f.Dead}
		}
	}
	r, ok := operator.Sum(eventID, sub, parts, wh)
	return r, ok, nil
}

// InForce is the number of revocations in force that a consumer registered now would get.
func (l *OrderLog) InForce() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(time.Now())
	return len(l.active)
}
