package webhook

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/tracing"
)

// Attempt outcomes (the outcome label of pushgate_webhook_attempts_total).
const (
	OutcomeSuccess     = "success"
	OutcomeHTTP3xx     = "http_3xx"
	OutcomeHTTP4xx     = "http_4xx"
	OutcomeHTTP5xx     = "http_5xx"
	OutcomeTimeout     = "timeout"
	OutcomeNetwork     = "network"
	OutcomeSSRFBlocked = "ssrf_blocked"
)

// Outcomes lists every outcome.
var Outcomes = []string{OutcomeSuccess, OutcomeHTTP3xx, OutcomeHTTP4xx, OutcomeHTTP5xx, OutcomeTimeout, OutcomeNetwork, OutcomeSSRFBlocked}

const (
	maxResponseRead    = 64 << 10 // response bytes read per attempt (the rest is not read)
	maxResponseExcerpt = 1 << 10  // response bytes kept in the attempt log
	maxResponseHead    = 16 << 10 // status line and headers of an answer, at most (what most servers send at most)
	cooldownCap        = 20       // the breaker's cooldown doubles up to 20× BreakerCooldown (10 min by default)
	userAgent          = "pushgate-webhooks/1"
)

// Attempt is one entry of an endpoint's attempt log (GET …/attempts).
type Attempt struct {
	Time       time.Time `json:"time"`
	DeliveryID string    `json:"deliveryId"`
	Attempt    int       `json:"attempt"`
	Outcome    string    `json:"outcome"`
	StatusCode int       `json:"statusCode,omitempty"`
	LatencyMS  float64   `json:"latencyMs"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"`
}

type result struct {
	outcome    string
	status     int
	date       string // the receiver's Date header
	latency    time.Duration
	err        string
	excerpt    []byte
	retryAfter time.Duration // a 429's or 503's Retry-After (controls.go)
}

func (s *Service) scheduleLoop() {
	defer s.loops.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		var w deliveryWrite
		for len(s.due) > 0 && !s.due[0].Due.After(now) && !s.closed {
			s.dispatchLocked(s.due.pop(), now, &w)
		}
		wait := time.Minute
		if len(s.due) > 0 {
			wait = min(wait, s.due[0].Due.Sub(now))
		}
		s.mu.Unlock()
		s.writeDeliveries(w, nil)
		t.Reset(wait)
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// dispatchLocked starts, defers or retires a due delivery; store changes are added to w.
func (s *Service) dispatchLocked(d *delivery, now time.Time, w *deliveryWrite) {
	ep := s.eps[d.Endpoint]
	switch {
	case ep == nil: // removed webhook (possibly while we were down)
		s.cancelLocked(d)
		w.puts = append(w.puts, store.WebhookPut{Bucket: store.WebhookPending, Key: pendingKey(d)})
	case !ep.confirmed: // the config topic has not confirmed its secret yet (state.go)
		d.Due = now.Add(unconfirmedWait)
		s.due.push(d)
	case ep.st.Disabled:
		s.deadLocked(w, d, now, "endpoint disabled")
	case now.Before(ep.open): // circuit open (or Retry-After): wait, not charged an attempt
		d.Due = ep.open
		s.due.push(d)
	case !ep.head(d), // ordered: an earlier delivery goes first
		ep.inflight >= s.maxInFlight(ep) || (ep.fails >= s.cfg.BreakerThreshold && ep.inflight > 0):
		ep.waiting = append(ep.waiting, d)
	case !ep.throttle.take(now): // rateLimit: wait for the next slot, not charged an attempt
		d.Due = ep.throttle.wait()
		s.due.push(d)
	default:
		s.startLocked(ep, d)
	}
}

func (s *Service) startLocked(ep *endpoint, d *delivery) {
	ep.inflight++
	d.inflight = true
	d.Attempts++
	hook, st, client := ep.sc.Hook, ep.st, ep.client
	s.flights.Add(1)
	s.run(func() {
		defer s.flights.Done()
		r := s.send(client, hook, &st, d)
		s.finish(ep, d, hook, r)
	})
}

// pumpLocked starts waiting deliveries while the endpoint has room, or parks them until its
// circuit closes.
func (s *Service) pumpLocked(ep *endpoint, now time.Time) {
	if s.eps[ep.key] != ep || s.closed {
		return
	}
	for len(ep.waiting) > 0 {
		if now.Before(ep.open) {
			for _, w := range ep.waiting {
				w.Due = ep.open
				s.due.push(w)
			}
			ep.waiting = nil
			return
		}
		if ep.inflight >= s.maxInFlight(ep) || (ep.fails >= s.cfg.BreakerThreshold && ep.inflight > 0) {
			return
		}
		i := 0
		if ep.ordered && len(ep.order) > 0 { // only the endpoint's oldest pending delivery may go
			if i = slices.Index(ep.waiting, ep.order[0]); i < 0 {
				return // it is waiting for its retry in the due heap
			}
		}
		if !ep.throttle.take(now) {
			for _, w := range ep.waiting {
				w.Due = ep.throttle.wait()
				s.due.push(w)
			}
			ep.waiting = nil
			return
		}
		d := ep.waiting[i]
		if i == 0 { // the usual case: taken from the front without moving a burst's backlog
			ep.waiting[0] = nil
			ep.waiting = ep.waiting[1:]
		} else {
			ep.waiting = slices.Delete(ep.waiting, i, i+1)
		}
		s.startLocked(ep, d)
	}
}

// finish records an attempt's result and decides the delivery's fate.
func (s *Service) finish(ep *endpoint, d *delivery, hook *Hook, r result) {
	now := time.Now()
	s.mu.Lock()
	ep.inflight--
	d.inflight = false
	if s.closed { // aborted by Close: the record stays pending and is sent after a restart
		s.mu.Unlock()
		return
	}
	if d.cancelled {
		s.mu.Unlock()
		s.write([]store.WebhookPut{{Bucket: store.WebhookPending, Key: pendingKey(d)}}, nil)
		return
	}
	s.stats.observe(r)
	att := Attempt{Time: now.UTC(), DeliveryID: d.ID, Attempt: d.Attempts, Outcome: r.outcome,
		StatusCode: r.status, LatencyMS: float64(r.latency.Microseconds()) / 1000, Error: r.err, Response: string(r.excerpt)}
	s.attempts.add(ep.key, att)
	var w deliveryWrite
	sc := ep.sc
	attemptNo := d.Attempts // d is back in the queue (and mutable by others) once retry pushes it
	clockChanged, retry, disable := false, false, ""
	if r.outcome == OutcomeSuccess {
		ep.fails, ep.open, ep.cooldown = 0, time.Time{}, s.cfg.BreakerCooldown
		if !ep.st.FailingSince.IsZero() {
			ep.st.FailingSince, clockChanged = time.Time{}, true
		}
		s.unorderLocked(d)
		s.removePendingLocked(d)
		s.stats.delivered.Add(1)
		s.receipts.update(d.EventID, func(e *EventWebhooks) { e.Delivered++ })
		if d.own {
			s.retireLater(store.WebhookPut{Bucket: store.WebhookPending, Key: pendingKey(d)})
		}
		s.retireLater(s.deliveredLocked(d)...)
	} else {
		d.LastError = r.summary()
		ep.fails++
		if ep.fails >= s.cfg.BreakerThreshold {
			if ep.fails > s.cfg.BreakerThreshold { // the half-open probe failed
				ep.cooldown = min(2*ep.cooldown, cooldownCap*s.cfg.BreakerCooldown)
			}
			ep.open = now.Add(ep.cooldown)
		}
		if ep.st.FailingSince.IsZero() {
			ep.st.FailingSince, clockChanged = now.UTC(), true
		}
		switch {
		case r.status == http.StatusGone:
			disable = "the endpoint answered 410 Gone"
		case ep.st.Disabled:
			s.deadLocked(&w, d, now, "endpoint disabled")
		case s.cfg.DisableAfter > 0 && now.Sub(ep.st.FailingSince) >= s.cfg.DisableAfter:
			disable = "failing since " + ep.st.FailingSince.Format(time.RFC3339)
		case d.Attempts >= len(s.cfg.Schedule):
			s.deadLocked(&w, d, now, "attempts exhausted")
		default:
			retry = true
			d.Due = now.Add(s.delay(d.Attempts))
			if r.retryAfter > 0 { // the receiver said when: honoured up to the schedule's longest delay, for the whole endpoint
				d.Due = now.Add(min(r.retryAfter, s.maxDelay()))
				if d.Due.After(ep.open) {
					ep.open = d.Due
				}
			}
			d.own = true
			w.puts = append(w.puts, store.WebhookPut{Bucket: store.WebhookPending, Key: pendingKey(d), Value: appendRecord(nil, d)})
			w.settled = append(w.settled, d) // its event record lets go of it once this record is durable
		}
	}
	if disable != "" {
		ep.st.Disabled, ep.st.DisabledAt, ep.st.DisabledReason = true, now.UTC(), disable
		s.deadLocked(&w, d, now, "endpoint disabled: "+disable)
		s.retireEndpointLocked(&w, ep, now, "endpoint disabled: "+disable)
		s.log.Warn("webhook: endpoint disabled", "webhook", hook.Key, "tenant", ep.sc.Tenant, "reason", disable)
	}
	// State changes are rare (a streak starts or ends, an endpoint is disabled); writing them
	// under the lock keeps them in order.
	if clockChanged {
		s.putLocalLocked(ep)
	}
	if disable != "" {
		if err := s.putSharedLocked(ep); err != nil {
			s.log.Error("webhook: could not store the disabled state", "webhook", hook.Key, "err", err)
		}
	}
	// The freed slot starts the endpoint's next delivery now, not after this attempt's record is
	// durable (bbolt's batch coalescing takes up to 10 ms): the record only matters after a crash,
	// where at-least-once sends again anyway.
	s.pumpLocked(ep, now)
	s.mu.Unlock()
	s.writeDeliveries(w, persistedAttempt(ep.key, att))
	s.mu.Lock()
	if retry && !d.cancelled && !s.closed {
		s.due.push(d)
	}
	// Its webhook removed while the retry's record was being written: the removal's delete of
	// that record may have been committed before it, so it is deleted again.
	orphan := retry && d.cancelled
	s.pumpLocked(ep, now)
	s.mu.Unlock()
	if orphan {
		s.write([]store.WebhookPut{{Bucket: store.WebhookPending, Key: pendingKey(d)}}, nil)
	}
	s.kick()
	s.emitTriggered(sc, d, attemptNo, r, now)
	if disable != "" {
		s.emitDisabled(sc, d.Trigger.TenantID, disable, now)
	}
}

// retireEndpointLocked dead-letters every queued (not in-flight) delivery of ep.
func (s *Service) retireEndpointLocked(w *deliveryWrite, ep *endpoint, now time.Time, reason string) {
	for _, o := range s.pending {
		if o.Endpoint == ep.key && !o.inflight {
			s.deadLocked(w, o, now, reason)
		}
	}
	ep.waiting = nil
}

// deadLocked moves d to the dead-letter list (its record and dead letter added to w).
func (s *Service) deadLocked(w *deliveryWrite, d *delivery, now time.Time, reason string) {
	s.unqueueLocked(d)
	s.removePendingLocked(d)
	d.DeadAt, d.DeadReason = now.UTC(), reason
	s.stats.dead.Add(1)
	s.receipts.update(d.EventID, func(e *EventWebhooks) { e.Dead++ })
	b, _ := json.Marshal(d)
	s.log.Warn("webhook: delivery dead-lettered", "delivery", d.ID, "endpoint", d.Endpoint, "attempts", d.Attempts, "reason", reason, "lastError", d.LastError)
	w.puts = append(w.puts, store.WebhookPut{Bucket: store.WebhookPending, Key: pendingKey(d)}, store.WebhookPut{Bucket: store.WebhookDead, Key: d.ID, Value: b})
	w.settled = append(w.settled, d)
}

// cancelLocked forgets d (its webhook was removed); the caller deletes the record.
func (s *Service) cancelLocked(d *delivery) {
	s.unqueueLocked(d)
	s.removePendingLocked(d)
	d.cancelled = true
	s.stats.cancelled.Add(1)
	// Lazily: a restart before that commit finds the delivery's webhook gone and cancels it again.
	s.retireLater(s.releaseLocked(d)...)
}

func (s *Service) unqueueLocked(d *delivery) {
	if d.idx >= 0 {
		heap.Remove(&s.due, d.idx)
	}
	s.unorderLocked(d)
	if ep := s.eps[d.Endpoint]; ep != nil {
		for i, w := range ep.waiting {
			if w == d {
				ep.waiting = append(ep.waiting[:i], ep.waiting[i+1:]...)
				break
			}
		}
	}
}

// deliveryWrite is delivery state for one store write: the records (own, dead letters, removals) and
// the deliveries they settle, which their event records let go of only once the write is durable
// (writeDeliveries). Released with the write, an event record's removal could reach the disk first —
// in the same transaction without the journal, but not when another delivery of the event, or the
// journal, writes it — and a kill -9 between the two would leave the delivery with neither record.
type deliveryWrite struct {
	puts    []store.WebhookPut
	settled []*delivery
}

// writeDeliveries writes w, then releases its settled deliveries from their event records. When the
// write fails they are not released: the event record keeps them (sent again after a restart).
func (s *Service) writeDeliveries(w deliveryWrite, atts []store.WebhookAttempt) {
	if !s.write(w.puts, atts) || len(w.settled) == 0 {
		return
	}
	var removals []store.WebhookPut
	s.mu.Lock()
	for _, d := range w.settled {
		removals = append(removals, s.releaseLocked(d)...)
	}
	s.mu.Unlock()
	s.retireLater(removals...)
}

// write commits delivery state to the store; it reports whether it did (a failure is logged).
func (s *Service) write(puts []store.WebhookPut, atts []store.WebhookAttempt) bool {
	if len(puts) == 0 && len(atts) == 0 {
		return true
	}
	if err := s.cfg.Store.WriteWebhooks(store.WebhookBatch{Puts: puts, Attempts: atts, KeepAttempts: s.cfg.KeepAttempts}); err != nil {
		s.log.Error("webhook: could not store delivery state", "err", err)
		return false
	}
	return true
}

// delay is the wait before attempt n+1 (n attempts made), with ±20 % jitter when not zero.
func (s *Service) delay(n int) time.Duration {
	d := s.cfg.Schedule[min(n, len(s.cfg.Schedule)-1)]
	if d <= 0 {
		return 0
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// send makes one attempt.
func (s *Service) send(c *sender, h *Hook, st *endpointState, d *delivery) result {
	ts := time.Now()
	sig, err := st.signatures(&s.macs, d.ID, ts, d.Body)
	if err != nil {
		return result{outcome: OutcomeNetwork, err: err.Error()}
	}
	if c == nil {
		return result{outcome: OutcomeNetwork, err: "invalid URL"}
	}
	a := attempt{id: d.ID, timestamp: strconv.FormatInt(ts.Unix(), 10), signature: sig, traceparent: d.Traceparent}
	span := s.cfg.Tracer.StartWebhookAttempt(tracing.Attempt{WebhookID: h.ID, DeliveryID: d.ID, URL: h.URL,
		Traceparent: d.Traceparent, Number: d.Attempts})
	if tp := span.Traceparent(); tp != "" {
		a.traceparent = tp
	}
	r := c.post(a, d.Body)
	span.EndWebhookAttempt(r.status, r.outcome, r.err)
	return r
}

func classify(err error) result {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL may carry credentials: never in logs or the attempt log
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrBlockedAddress):
		return result{outcome: OutcomeSSRFBlocked, err: err.Error()}
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return result{outcome: OutcomeTimeout, err: "timeout"}
	default:
		return result{outcome: OutcomeNetwork, err: err.Error()}
	}
}

func (r result) summary() string {
	if r.status != 0 {
		return "HTTP " + strconv.Itoa(r.status)
	}
	return r.outcome + ": " + r.err
}

// dheap orders deliveries by due time.
type dheap []*delivery

func (h dheap) Len() int           { return len(h) }
func (h dheap) Less(i, j int) bool { return h[i].Due.Before(h[j].Due) }
func (h dheap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *dheap) Push(x any)        { d := x.(*delivery); d.idx = len(*h); *h = append(*h, d) }
func (h *dheap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	d.idx = -1
	return d
}
func (h *dheap) push(d *delivery) { heap.Push(h, d) }
func (h *dheap) pop() *delivery   { return heap.Pop(h).(*delivery) }
