package api

import (
	"context"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/source"
)

// RoleEventSender lets a caller publish events.
const RoleEventSender = "urn:ads:platform:event-service:event-sender"

// retryAfterSeconds is the Retry-After of an overloaded ingest.
const retryAfterSeconds = 1

// unavailableRetryAfterSeconds is the Retry-After of an ingest whose source does not accept
// events (Kafka unreachable or not acknowledging): long enough not to hammer a broker that is
// coming back, short next to an outage's usual length.
const unavailableRetryAfterSeconds = 5

// HeaderIdempotencyKey names the publish's idempotency key: a retried POST with the same key (and
// tenant) within the dedupe window (engine/dedupe: 100,000 keys, 10 minutes) is delivered once.
const HeaderIdempotencyKey = "Idempotency-Key"

// maxIdempotencyKeyBytes bounds the key (it is kept in the window and written to every record).
const maxIdempotencyKeyBytes = 255

type eventAccepted struct {
	ID string `json:"id"`
}

// postEvent ingests one event (event-service v1). Tenant users publish for their own tenant; core
// callers must name the tenant in the body.
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
	in, err := source.DecodeEvent(ctx.PostBody())
	var ie *source.InvalidEventError
	switch {
	case errors.Is(err, source.ErrBodyTooLarge):
		fail(ctx, fasthttp.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB.")
		return
	case errors.As(err, &ie):
		fail(ctx, fasthttp.StatusBadRequest, ie.Reason)
		return
	case err != nil:
		fail(ctx, fasthttp.StatusBadRequest, "Invalid event.")
		return
	}
	if in.BadTraceparent {
		fail(ctx, fasthttp.StatusBadRequest, source.ErrBadTraceparent.Reason)
		return
	}
	// The request's own trace context wins over the body's field (source.Incoming.SetTraceparent).
	in.SetTraceparent(string(ctx.Request.Header.Peek("traceparent")))
	tenant := p.TenantID
	if in.TenantID != "" {
		t, found := a.d.Store.ResolveTenant(in.TenantID)
		if !found {
			fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
			return
		}
		if !p.Core && t.ID != p.TenantID {
			fail(ctx, fasthttp.StatusForbidden, "User is not permitted to send events for another tenant.")
			return
		}
		tenant = t.ID
	}
	if tenant == "" {
		fail(ctx, fasthttp.StatusBadRequest, "tenantId is required for core users.")
		return
	}
	if a.d.Publisher == nil {
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event ingest is not available.")
		return
	}
	ev := in.Event(tenant)
	ev.IdempotencyKey = idemKey
	id, err := a.d.Publisher.Publish(ev)
	switch {
	case errors.Is(err, source.ErrOverloaded):
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds))
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event queue is full; retry later.")
	case err != nil:
		// The source's own log says which broker and why (kafka: source lost …); the publisher
		// learns enough to retry: the event was not accepted, and when to try again.
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(unavailableRetryAfterSeconds))
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event ingest is not available: "+unavailableReason(err)+"; retry later (with the same Idempotency-Key, it is delivered once).")
	default:
		writeJSON(ctx, fasthttp.StatusOK, eventAccepted{ID: id})
	}
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
