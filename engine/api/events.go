package api

import (
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

type eventAccepted struct {
	ID string `json:"id"`
}

// DurableWebhooks lets the ingest wait for an event's webhook deliveries to be recorded: Track
// (before Publish) returns nil when no webhook lists the event, else a wait; Untrack drops an event
// whose publish failed.
type DurableWebhooks interface {
	Track(ev *source.Event) (wait func() error)
	Untrack(ev *source.Event)
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
	if source.IsBatch(ctx.Request.Header.ContentType(), ctx.PostBody()) {
		a.postEvents(ctx, p)
		return
	}
	in, err := source.DecodeEvent(ctx.PostBody())
	if !decodeOK(ctx, err) {
		return
	}
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
	wait := a.track(ev)
	id, err := a.d.Publisher.Publish(ev)
	if !publishOK(ctx, err) {
		a.untrack(ev, wait)
		return
	}
	if wait != nil && wait() != nil {
		failNotRecorded(ctx)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, eventAccepted{ID: id})
}

// postEvents ingests a batch. Validation is all or nothing (a 400 names the first bad item and
// nothing is published); publishing stops at the first event the queue refuses (503 with the ids
// of those published before it).
func (a *API) postEvents(ctx *fasthttp.RequestCtx, p *auth.Principal) {
	ins, err := source.DecodeEvents(ctx.Request.Header.ContentType(), ctx.PostBody())
	if !decodeOK(ctx, err) {
		return
	}
	tenants := make([]string, len(ins))
	for i, in := range ins {
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
	var waits []func() error
	for i, in := range ins {
		ev := in.Event(tenants[i])
		wait := a.track(ev)
		id, err := a.d.Publisher.Publish(ev)
		if err != nil {
			a.untrack(ev, wait)
			status := fasthttp.StatusServiceUnavailable
			ans.ErrorMessage = "events[" + strconv.Itoa(i) + "]: event ingest is not available; the events before it were accepted."
			if errors.Is(err, source.ErrOverloaded) {
				ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds))
				ans.ErrorMessage = "events[" + strconv.Itoa(i) + "]: event queue is full; the events before it were accepted, retry the rest later."
			}
			writeJSON(ctx, status, ans)
			return
		}
		ans.IDs = append(ans.IDs, id)
		if wait != nil {
			waits = append(waits, wait)
		}
	}
	for _, wait := range waits {
		if wait() != nil {
			failNotRecorded(ctx)
			return
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, ans)
}

func (a *API) track(ev *source.Event) func() error {
	if a.d.Durable == nil {
		return nil
	}
	return a.d.Durable.Track(ev)
}

func (a *API) untrack(ev *source.Event, wait func() error) {
	if wait != nil {
		a.d.Durable.Untrack(ev)
	}
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
	switch {
	case err == nil:
		return true
	case errors.Is(err, source.ErrOverloaded):
		ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds))
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event queue is full; retry later.")
	default:
		fail(ctx, fasthttp.StatusServiceUnavailable, "Event ingest is not available.")
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
