package api

import (
	"context"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/source"
)

// RoleEventSender lets a caller publish events.
const RoleEventSender = "urn:ads:platform:event-service:event-sender"

// retryAfterSeconds is the Retry-After of an overloaded ingest.
const retryAfterSeconds = 1

// backlogRetryAfterSeconds is the Retry-After of an event refused because the webhook backlog
// is full: it drains only as deliveries end, seconds to hours when a receiver is down.
const backlogRetryAfterSeconds = 30

// unavailableRetryAfterSeconds is the Retry-After of an ingest whose source does not accept
// events (Kafka unreachable or not acknowledging): long enough not to hammer a broker that is
// coming back, short next to an outage's usual length.
const unavailableRetryAfterSeconds = 5

// HeaderIdempotencyKey names the publish's idempotency key: a retried POST with the same key (and
// tenant) within the dedupe window (engine/dedupe: 100,000 keys, 10 minutes) is delivered once.
// In a batch, item i carries "<key>#<i>", so a retried batch is delivered once too.
const HeaderIdempotencyKey = "Idempotency-Key"

// maxIdempotencyKeyBytes bounds the key (it is kept in the window and written to every record).
const maxIdempotencyKeyBytes = 255

type eventAccepted struct {
	ID string `json:"id"`
}

// batchAnswer is the answer to a batch: the ids of the accepted events, in order; on a 503 it
// names the events published before the queue filled (the first len(IDs)), so the client resends
// only the rest.
type batchAnswer struct {
	ErrorMessage string   `json:"errorMessage,omitempty"`
	IDs          []string `json:"ids"`
}

// postEvent ingests one event (event-service v1), or a batch: a JSON array of events, or NDJSON
// (Content-Type application/x-ndjson). Tenant users publish for their own tenant; core callers
// must name the tenant in the body.
func (a *API) postEvent(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, ok := a.authenticate(ctx, false)
	if !ok {
		return
	}
	if !p.HasRole(RoleEventSender) {
		fail(ctx, fasthttp.StatusForbidden, "User is not permitted to send events.")
		return
	}
	idemKey := string(ctx.Request.Header.Peek(HeaderIdempotencyKey))
	if !validIdempotencyKey(idemKey) {
		fail(ctx, fasthttp.StatusBadRequest, "Idempotency-Key must be 1-255 printable ASCII characters.")
		return
	}
	traceparent := string(ctx.Request.Header.Peek("traceparent"))
	if source.IsBatch(ctx.Request.Header.ContentType(), ctx.PostBody()) {
		a.postEvents(ctx, p, idemKey, traceparent)
		return
	}
	in, err := source.DecodeEvent(ctx.PostBody())
	if !decodeOK(ctx, err) {
		return
	}
	if in.BadTraceparent {
		fail(ctx, fasthttp.StatusBadRequest, source.ErrBadTraceparent.Reason)
		return
	}
	// The request's own trace context wins over the body's field (source.Incoming.SetTraceparent).
	in.SetTraceparent(traceparent)
	tenant, status, msg := a.eventTenant(p, in)
	if status != 0 {
		fail(ctx, status, msg)
		return
	}
	if a.d.Publisher == nil {
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event ingest is not available.")
		return
	}
	ev := in.Event(tenant)
	ev.IdempotencyKey = idemKey
	d := newDurableAnswer(ctx)
	defer a.finish(d)
	id, err := a.publishDurably(d, ev)
	if !publishOK(ctx, err) {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, eventAccepted{ID: id})
}

// postEvents ingests a batch. Validation is all or nothing (a 400 names the first bad item and
// nothing is published); publishing stops at the first event the queue refuses (503 with the ids
// of those published before it).
func (a *API) postEvents(ctx *fasthttp.RequestCtx, p *auth.Principal, idemKey, traceparent string) {
	ins, err := source.DecodeEvents(ctx.Request.Header.ContentType(), ctx.PostBody())
	if !decodeOK(ctx, err) {
		return
	}
	tenants := make([]string, len(ins))
	for i, in := range ins {
		if in.BadTraceparent {
			fail(ctx, fasthttp.StatusBadRequest, "events["+strconv.Itoa(i)+"]: "+source.ErrBadTraceparent.Reason)
			return
		}
		in.SetTraceparent(traceparent)
		t, status, msg := a.eventTenant(p, in)
		if status != 0 {
			fail(ctx, status, "events["+strconv.Itoa(i)+"]: "+msg)
			return
		}
		tenants[i] = t
	}
	if a.d.Publisher == nil {
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event ingest is not available.")
		return
	}
	ans := batchAnswer{IDs: make([]string, 0, len(ins))}
	d := newDurableAnswer(ctx)
	defer a.finish(d) // a 503 too waits for the events published before it to be durable
	for i, in := range ins {
		ev := in.Event(tenants[i])
		if idemKey != "" {
			ev.IdempotencyKey = idemKey + "#" + strconv.Itoa(i)
		}
		id, err := a.publishDurably(d, ev)
		if err != nil {
			status := fasthttp.StatusServiceUnavailable
			ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(unavailableRetryAfterSeconds))
			ans.ErrorMessage = "events[" + strconv.Itoa(i) + "]: event ingest is not available: " + unavailableReason(err) + "; the events before it were accepted."
			var refused webhooksRefused
			switch {
			case errors.As(err, &refused):
				ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(backlogRetryAfterSeconds))
				ans.ErrorMessage = "events[" + strconv.Itoa(i) + "]: not published: " + refused.Error() + "; the events before it were accepted, retry the rest later."
			case errors.Is(err, source.ErrOverloaded):
				ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds))
				ans.ErrorMessage = "events[" + strconv.Itoa(i) + "]: event queue is full; the events before it were accepted, retry the rest later."
			}
			writeJSON(ctx, status, ans)
			return
		}
		ans.IDs = append(ans.IDs, id)
	}
	writeJSON(ctx, fasthttp.StatusOK, ans)
}

// failNotRecorded answers an event that was published but whose webhook deliveries could not be
// made durable: the caller should send it again (its socket subscribers may then see it twice).
func failNotRecorded(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds))
	fail(ctx, fasthttp.StatusServiceUnavailable, "Event published, but its webhook deliveries could not be recorded; send it again.")
}

// decodeOK answers a body that failed to decode; ok=false means the response is written.
func decodeOK(ctx *fasthttp.RequestCtx, err error) bool {
	var ie *source.InvalidEventError
	switch {
	case err == nil:
		return true
	case errors.Is(err, source.ErrBodyTooLarge):
		fail(ctx, fasthttp.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB.")
	case errors.As(err, &ie):
		fail(ctx, fasthttp.StatusBadRequest, ie.Reason)
	default:
		fail(ctx, fasthttp.StatusBadRequest, "Invalid event.")
	}
	return false
}

// publishOK answers a refused publish; ok=false means the response is written.
func publishOK(ctx *fasthttp.RequestCtx, err error) bool {
	var refused webhooksRefused
	switch {
	case err == nil:
		return true
	case errors.As(err, &refused):
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(backlogRetryAfterSeconds))
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event not published: "+refused.Error()+"; retry later.")
	case errors.Is(err, source.ErrOverloaded):
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds))
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event queue is full; retry later.")
	default:
		// The source's own log says which broker and why (kafka: source lost …); the publisher
		// learns enough to retry: the event was not accepted, and when to try again.
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(unavailableRetryAfterSeconds))
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event ingest is not available: "+unavailableReason(err)+"; retry later (with the same Idempotency-Key, it is delivered once).")
	}
	return false
}

// eventTenant resolves the tenant an event is published for; a non-zero status is the refusal.
func (a *API) eventTenant(p *auth.Principal, in *source.Incoming) (tenant string, status int, msg string) {
	tenant = p.TenantID
	if in.TenantID != "" {
		t, found := a.d.Store.ResolveTenant(in.TenantID)
		if !found {
			return "", fasthttp.StatusNotFound, "Tenant not found."
		}
		if !p.Core && t.ID != p.TenantID {
			return "", fasthttp.StatusForbidden, "User is not permitted to send events for another tenant."
		}
		tenant = t.ID
	}
	if tenant == "" {
		return "", fasthttp.StatusBadRequest, "tenantId is required for core users."
	}
	return tenant, 0, ""
}

// validIdempotencyKey accepts no key, or 1-255 printable ASCII characters.
func validIdempotencyKey(k string) bool {
	if len(k) > maxIdempotencyKeyBytes {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// unavailableReason says why the source refused an event, without broker addresses.
func unavailableReason(err error) string {
	switch {
	case errors.Is(err, source.ErrClosed):
		return "the server is shutting down"
	case errors.Is(err, context.DeadlineExceeded):
		return "the event broker did not acknowledge the event in time"
	default:
		return "the event broker cannot be reached"
	}
}
