package api

import (
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/source"
)

// RoleEventSender lets a caller publish events.
const RoleEventSender = "urn:ads:platform:event-service:event-sender"

// retryAfterSeconds is the Retry-After of an overloaded ingest.
const retryAfterSeconds = 1

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
	id, err := a.d.Publisher.Publish(in.Event(tenant))
	switch {
	case errors.Is(err, source.ErrOverloaded):
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds))
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event queue is full; retry later.")
	case err != nil:
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event ingest is not available.")
	default:
		writeJSON(ctx, fasthttp.StatusOK, eventAccepted{ID: id})
	}
}
