package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/operator"
	"github.com/pushgate/pushgate/engine/store"
)

// RoleTenantAdmin lets a tenant's operator act on its own tenant's connections; a core caller
// with RolePlatformService acts on every tenant's (contract.md "Operator routes").
const RoleTenantAdmin = "urn:ads:platform:tenant-service:tenant-admin"

// Operator carries out the operator routes on connections (*control.Plane implements it).
type Operator interface {
	// Connections lists the connections of the deployment's processes matching f.
	Connections(f operator.Filter) ([]operator.Connection, error)
	// Order publishes an order every process applies (engine/operator).
	Order(o *operator.Order) error
	// Receipt joins the processes' receipts of an event (false when none has it); sub, when set,
	// asks whether that subject's connections got it.
	Receipt(eventID, sub string) (*operator.EventReceipt, bool, error)
}

const (
	connectionsPath     = "/push/v1/connections"
	revocationsPath     = "/push/v1/revocations"
	defaultConnsLimit   = 100
	maxConnsLimit       = 1000
	maxOperatorBodySize = 64 << 10
)

func (a *API) addOperatorRoutes(add func(method, pattern string, h handler), gated func(handler) handler) {
	add("GET", connectionsPath, (*API).getConnections)
	add("POST", connectionsPath+"/disconnect", gated((*API).postDisconnect))
	add("POST", revocationsPath, gated((*API).postRevocation))
	add("GET", "/push/v1/events/{eventId}", (*API).getReceipt)
}

// getReceipt answers what became of an event: per process, the streams it matched and the
// subscribers it reached or was dropped for, the webhooks queued, delivered and dead, and with
// ?sub= whether that subject's connections got it. Tenant admins and event senders see their own
// tenant's events, the platform service every event.
func (a *API) getReceipt(ctx *fasthttp.RequestCtx, params map[string]string) {
	p, ok := a.authenticate(ctx, false)
	if !ok {
		return
	}
	core := p.Core && p.HasRole(RolePlatformService)
	if !core && (p.Core || !p.HasAnyRole(RoleTenantAdmin, RoleEventSender)) {
		fail(ctx, fasthttp.StatusForbidden, "User is not permitted to read event receipts (needs "+RoleTenantAdmin+" or "+RoleEventSender+", or for every tenant "+RolePlatformService+").")
		return
	}
	id := params["eventId"]
	if id == "" || len(id) > 512 {
		fail(ctx, fasthttp.StatusBadRequest, "eventId must be an event id (1 to 512 characters).")
		return
	}
	sub := string(ctx.QueryArgs().Peek("sub"))
	if len(sub) > 512 {
		fail(ctx, fasthttp.StatusBadRequest, "sub must be at most 512 characters.")
		return
	}
	r, found, err := a.d.Operator.Receipt(id, sub)
	switch {
	case err != nil:
		a.log.Error("event receipt failed", "err", err)
		fail(ctx, fasthttp.StatusServiceUnavailable, "The receipt could not be gathered; retry later.")
	case !found:
		fail(ctx, fasthttp.StatusNotFound, "No receipt for this event: unknown, or older than the history window.")
	case !core && r.TenantID != p.TenantID:
		fail(ctx, fasthttp.StatusForbidden, "User is not permitted to read receipts of another tenant's events.")
	default:
		writeJSON(ctx, fasthttp.StatusOK, r)
	}
}

// operatorCaller authenticates an operator (before any input is read: an anonymous caller learns
// nothing about what the route accepts). A caller with neither role gets 403.
func (a *API) operatorCaller(ctx *fasthttp.RequestCtx) (*auth.Principal, bool) {
	p, ok := a.authenticate(ctx, false)
	if !ok {
		return nil, false
	}
	if !isPlatformService(p) && (p.Core || !p.HasRole(RoleTenantAdmin)) {
		fail(ctx, fasthttp.StatusForbidden, "User is not permitted to manage connections (needs "+RoleTenantAdmin+" or, for every tenant, "+RolePlatformService+").")
		return nil, false
	}
	return p, true
}

func isPlatformService(p *auth.Principal) bool { return p.Core && p.HasRole(RolePlatformService) }

// operatorTenant resolves the tenant an operator's call is about: ref (any form) or, when empty,
// the caller's own tenant ("" for a platform-service caller). A tenant admin naming another tenant
// gets 403.
func (a *API) operatorTenant(ctx *fasthttp.RequestCtx, p *auth.Principal, ref string) (string, bool) {
	tenant := p.TenantID
	if ref != "" {
		t, found := a.d.Store.ResolveTenant(ref)
		if !found {
			fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
			return "", false
		}
		if !isPlatformService(p) && t.ID != p.TenantID {
			fail(ctx, fasthttp.StatusForbidden, "User is not permitted to manage connections of another tenant.")
			return "", false
		}
		tenant = t.ID
	}
	return tenant, true
}

type connectionsPage struct {
	Connections []operator.Connection `json:"connections"`
	Next        string                `json:"next,omitempty"`
}

func (a *API) getConnections(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, ok := a.operatorCaller(ctx)
	if !ok {
		return
	}
	q := ctx.QueryArgs()
	limit := defaultConnsLimit
	if v := q.Peek("limit"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxConnsLimit {
			fail(ctx, fasthttp.StatusBadRequest, "limit must be an integer from 1 to "+strconv.Itoa(maxConnsLimit)+".")
			return
		}
		limit = n
	}
	var after string
	if v := q.Peek("cursor"); len(v) > 0 {
		b, err := base64.RawURLEncoding.Strict().DecodeString(string(v))
		if err != nil {
			fail(ctx, fasthttp.StatusBadRequest, "cursor is not a cursor from a previous page.")
			return
		}
		after = string(b)
	}
	tenant, ok := a.operatorTenant(ctx, p, string(q.Peek("tenant")))
	if !ok {
		return
	}
	cs, err := a.d.Operator.Connections(operator.Filter{TenantID: tenant, Stream: string(q.Peek("stream")), Subject: string(q.Peek("sub"))})
	if err != nil {
		a.log.Error("connections listing failed", "err", err)
		fail(ctx, fasthttp.StatusServiceUnavailable, "The connections could not be listed; retry later.")
		return
	}
	operator.Sort(cs)
	page, next := operator.Page(cs, after, limit)
	out := connectionsPage{Connections: page}
	if out.Connections == nil {
		out.Connections = []operator.Connection{}
	}
	if next != "" {
		out.Next = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

type orderAccepted struct {
	ID    string     `json:"id"`
	Until *time.Time `json:"until,omitempty"`
}

// decodeOperatorBody decodes a JSON object body, answering 400 otherwise.
func decodeOperatorBody(ctx *fasthttp.RequestCtx, v any) bool {
	body := ctx.PostBody()
	if len(body) > maxOperatorBodySize {
		fail(ctx, fasthttp.StatusRequestEntityTooLarge, "Request body is too large.")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			fail(ctx, fasthttp.StatusBadRequest, te.Field+" has the wrong type.")
		} else {
			fail(ctx, fasthttp.StatusBadRequest, "Request body must be a JSON object.")
		}
		return false
	}
	return true
}

func (a *API) postDisconnect(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, ok := a.operatorCaller(ctx)
	if !ok {
		return
	}
	var body struct {
		Tenant string `json:"tenant"`
		Sub    string `json:"sub"`
	}
	if !decodeOperatorBody(ctx, &body) {
		return
	}
	if body.Sub == "" {
		fail(ctx, fasthttp.StatusBadRequest, "sub is required.")
		return
	}
	tenant, ok := a.operatorTenant(ctx, p, body.Tenant)
	if !ok {
		return
	}
	if tenant == "" {
		tenant = operator.AllTenants
	}
	o := &operator.Order{ID: operator.NewID(), Kind: operator.KindDisconnect, TenantID: tenant, Subject: body.Sub, By: p.Subject, At: time.Now().UTC()}
	a.publishOrder(ctx, p, o, fasthttp.StatusAccepted)
}

func (a *API) postRevocation(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, ok := a.operatorCaller(ctx)
	if !ok {
		return
	}
	var body struct {
		JTI          string `json:"jti"`
		Sub          string `json:"sub"`
		Tenant       string `json:"tenant"`
		IssuedBefore string `json:"issuedBefore"`
		Exp          *int64 `json:"exp"`
	}
	if !decodeOperatorBody(ctx, &body) {
		return
	}
	now := time.Now().UTC()
	o := &operator.Order{ID: operator.NewID(), Kind: operator.KindRevoke, At: now}
	switch {
	case body.JTI != "" && body.Sub != "":
		fail(ctx, fasthttp.StatusBadRequest, "jti and sub are exclusive: revoke one token (jti) or a subject's tokens (sub, issuedBefore).")
		return
	case body.JTI == "" && body.Sub == "":
		fail(ctx, fasthttp.StatusBadRequest, "jti or sub is required.")
		return
	case body.JTI != "" && body.IssuedBefore != "":
		fail(ctx, fasthttp.StatusBadRequest, "issuedBefore goes with sub, not jti.")
		return
	}
	o.TokenID, o.Subject = body.JTI, body.Sub
	if o.Subject != "" {
		o.IssuedBefore = now
		if body.IssuedBefore != "" {
			t, err := time.Parse(time.RFC3339Nano, body.IssuedBefore)
			if err != nil {
				fail(ctx, fasthttp.StatusBadRequest, "issuedBefore must be an RFC 3339 date-time.")
				return
			}
			o.IssuedBefore = t.UTC()
		}
	}
	switch {
	case body.Exp != nil:
		o.Until = time.Unix(*body.Exp, 0).UTC()
		if !o.Until.After(now) {
			fail(ctx, fasthttp.StatusBadRequest, "exp must be in the future (an expired token needs no revocation).")
			return
		}
	case o.Subject != "":
		o.Until = o.IssuedBefore.Add(operator.MaxTokenLifetime)
	default:
		o.Until = now.Add(operator.MaxTokenLifetime)
	}
	tenant, ok := a.operatorTenant(ctx, p, body.Tenant)
	if !ok {
		return
	}
	if o.Subject != "" && o.Until.Before(now) {
		fail(ctx, fasthttp.StatusBadRequest, "issuedBefore is too old: every token issued before it has expired.")
		return
	}
	o.TenantID = tenant // jti: "" = any tenant (platform service); sub: the subject's realm ("" = core)
	o.By = p.Subject
	a.publishOrder(ctx, p, o, fasthttp.StatusCreated)
}

// publishOrder publishes o, logs who gave it (the subject, never the token) and answers.
func (a *API) publishOrder(ctx *fasthttp.RequestCtx, p *auth.Principal, o *operator.Order, status int) {
	if err := a.d.Operator.Order(o); err != nil {
		if errors.Is(err, store.ErrReplication) {
			fail(ctx, fasthttp.StatusServiceUnavailable, "The order could not be replicated; retry later.")
			return
		}
		a.failInternal(ctx, "operator order", err)
		return
	}
	a.log.Info("operator order", "order", o.ID, "kind", o.Kind, "by", p.Subject, "byTenant", p.TenantID,
		"tenant", o.TenantID, "sub", o.Subject, "jti", o.TokenID, "issuedBefore", o.IssuedBefore, "until", o.Until)
	out := orderAccepted{ID: o.ID}
	if o.Kind == operator.KindRevoke {
		out.Until = &o.Until
	}
	writeJSON(ctx, status, out)
}
