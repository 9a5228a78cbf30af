package api

import (
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/source"
)

// DurableWebhooks lets the ingest answer only once an event's webhook deliveries are recorded
// (engine/webhook durable.go): Track (before Publish) reports whether some webhook lists the
// event, and then calls done exactly once, on another goroutine, with nil once the deliveries are
// durable or with an error (the wait needs no timer per request: the service times out stuck
// records in one sweep); Untrack takes back an event that was not published (a refused or a
// repeated publish) and reports false when done has run or is running anyway. An error from Track
// refuses the event now (the webhook backlog is full): it is answered 503 and not published.
type DurableWebhooks interface {
	Track(ev *source.Event, done func(error)) (bool, error)
	Untrack(ev *source.Event) bool
}

// webhooksRefused is Track's refusal, as publishDurably returns it: the answer names it.
type webhooksRefused struct{ err error }

func (w webhooksRefused) Error() string { return w.err.Error() }
func (w webhooksRefused) Unwrap() error { return w.err }

// durableAnswer holds an ingest's answer until the webhook deliveries of its events are durable.
// pending counts the tracked events not settled yet, plus one held by the handler until it has
// published them all and written its answer into the context; whoever brings it to zero releases
// the handler (which answers 503 instead when an event's deliveries could not be recorded).
type durableAnswer struct {
	ctx     *fasthttp.RequestCtx
	pending atomic.Int32
	failed  atomic.Bool
	tracked bool
	keyed   []*source.Event // tracked events with an Idempotency-Key
	wait    chan struct{}
}

// keyForgetter is a publisher that can forget an idempotency key (the embedded bus): after a 503
// "not recorded", the retry the answer asks for must not be dropped as a repeat.
type keyForgetter interface {
	ForgetKey(tenantURN, key string)
}

func newDurableAnswer(ctx *fasthttp.RequestCtx) *durableAnswer {
	d := &durableAnswer{ctx: ctx}
	d.pending.Store(1)
	return d
}

// publishDurably publishes ev, tracked when some webhook lists it. A repeated publish
// (Idempotency-Key) is answered with the first id without waiting: that first publish's request
// answers for its deliveries.
func (a *API) publishDurably(d *durableAnswer, ev *source.Event) (string, error) {
	if a.d.Durable == nil {
		return a.d.Publisher.Publish(ev)
	}
	d.pending.Add(1) // before Track: done may run as soon as it is registered
	tracked, err := a.d.Durable.Track(ev, d.settled)
	if !tracked {
		d.pending.Add(-1)
	}
	if err != nil {
		return "", webhooksRefused{err}
	}
	if tracked {
		d.tracked = true
		if ev.IdempotencyKey != "" {
			d.keyed = append(d.keyed, ev)
		}
	}
	id, err := a.d.Publisher.Publish(ev)
	if tracked && (err != nil || ev.ID != id) && a.d.Durable.Untrack(ev) {
		d.pending.Add(-1)
	}
	return id, err
}

// settled is a tracked event's done.
func (d *durableAnswer) settled(err error) {
	if err != nil {
		d.failed.Store(true)
	}
	d.release()
}

// finish is called by the handler once its answer is written into the context: it returns once
// the tracked events are durable (at once when none was tracked), with the answer turned into a
// 503 when one could not be recorded — and the idempotency keys of the request forgotten, so that
// the retry it asks for is published again.
func (a *API) finish(d *durableAnswer) {
	if d.tracked {
		d.wait = make(chan struct{}, 1)
	}
	d.release()
	if d.wait == nil {
		return
	}
	<-d.wait
	if d.failed.Load() {
		failNotRecorded(d.ctx)
		if f, ok := a.d.Publisher.(keyForgetter); ok {
			for _, ev := range d.keyed {
				f.ForgetKey(ev.TenantID, ev.IdempotencyKey)
			}
		}
	}
}

func (d *durableAnswer) release() {
	if d.pending.Add(-1) == 0 && d.wait != nil {
		d.wait <- struct{}{}
	}
}
