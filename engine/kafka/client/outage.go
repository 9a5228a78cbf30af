package client

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// OutageLogInterval is how often a continuing outage is logged again (with the number of failed
// requests in between): the start and the end of an outage are always logged, once each.
const OutageLogInterval = 30 * time.Second

// Outage follows one direction of a component's connection to the brokers (reading a topic, or
// writing it): the first failed request starts an outage (WARN "… lost", with the reason, and
// readiness fails at once), later failures are logged at most every OutageLogInterval, and the
// first success ends it (INFO "… recovered", with its length).
type Outage struct {
	log  *slog.Logger
	what string // e.g. "reading topic domain-events"
	now  func() time.Time

	mu       sync.Mutex
	since    time.Time // zero: healthy
	lastFail time.Time
	reason   error
	lastLog  time.Time
	failed   int // requests failed since lastLog
}

// NewOutage tracks the health of what (e.g. "reading topic x"), logging to log.
func NewOutage(log *slog.Logger, what string) *Outage {
	return &Outage{log: log, what: what, now: time.Now}
}

// Fail records a failed request (cause names it: fetch, metadata, publish).
func (o *Outage) Fail(cause string, err error) {
	o.mu.Lock()
	now := o.now()
	o.reason, o.lastFail = err, now
	if o.since.IsZero() {
		o.since, o.lastLog, o.failed = now, now, 0
		o.mu.Unlock()
		o.log.Warn("kafka: source lost: "+o.what+" fails, retrying", "cause", cause, "error", err)
		return
	}
	o.failed++
	if now.Sub(o.lastLog) < OutageLogInterval {
		o.mu.Unlock()
		return
	}
	n, lasted := o.failed, now.Sub(o.since)
	o.lastLog, o.failed = now, 0
	o.mu.Unlock()
	o.log.Warn("kafka: source still lost: "+o.what+" fails, retrying", "cause", cause, "error", err,
		"for", lasted.Round(time.Second), "failed_requests", n)
}

// OK records a successful request: it ends an outage.
func (o *Outage) OK() {
	o.mu.Lock()
	if o.since.IsZero() {
		o.mu.Unlock()
		return
	}
	lasted := o.now().Sub(o.since)
	o.since, o.reason = time.Time{}, nil
	o.mu.Unlock()
	o.log.Info("kafka: source recovered: "+o.what+" works again", "outage", lasted.Round(time.Millisecond))
}

// OKIfQuiet ends an outage on indirect evidence (the brokers answer a metadata request) only when
// no request failed for quiet: a partition whose reader still fails keeps the outage open instead
// of flapping between lost and recovered at every metadata check.
func (o *Outage) OKIfQuiet(quiet time.Duration) {
	o.mu.Lock()
	failing := !o.since.IsZero() && o.now().Sub(o.lastFail) < quiet
	o.mu.Unlock()
	if !failing {
		o.OK()
	}
}

// Err is nil while healthy, else the outage with its reason (for readiness).
func (o *Outage) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return nil
	}
	return fmt.Errorf("kafka: %s fails since %s ago: %w", o.what, o.now().Sub(o.since).Round(time.Second), o.reason)
}
