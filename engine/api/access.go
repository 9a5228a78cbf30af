package api

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/stream"
)

// access is the authorization rule of a route that addresses a configuration document (the core
// one or a tenant's): which roles may call it, and whether a tenant caller may address the core
// document. Every such route names its rule and is decided by one function, authorizeDocument,
// so core-or-tenant is never decided by a handler's own reading of the query
// (SECURITY.md, "Who may do what"; TestRouteRoleTable in engine walks every route).
type access struct {
	// roles: the caller needs any of them.
	roles []string
	// tenantCore is what ?core means from a tenant caller.
	tenantCore tenantCore
	// denied is the 403 message for a caller without the roles.
	denied string
}

// tenantCore is the meaning of ?core from a tenant caller, per route.
type tenantCore int

const (
	// coreIgnored: the tenant's own document is addressed (configuration writes, as before).
	coreIgnored tenantCore = iota
	// coreReadable: the core document, as ADSP's configuration-service allows for reads; served
	// without its webhooks (withoutWebhooks).
	coreReadable
	// coreForbidden: 403 (webhook routes: core webhook data is for core callers only).
	coreForbidden
)

var (
	accessConfigRead = access{roles: []string{RoleConfigAdmin, RoleConfiguredService, RoleConfigReader},
		tenantCore: coreReadable, denied: "User is not permitted to access configuration."}
	accessConfigWrite = access{roles: []string{RoleConfigAdmin, RoleConfiguredService},
		denied: "User is not permitted to access configuration."}
	// Webhook data (receiver URLs, response excerpts, when events were sent) of the core document is
	// for core callers only.
	accessWebhookRead = access{roles: []string{RoleConfigAdmin, RoleConfiguredService, RoleConfigReader},
		tenantCore: coreForbidden, denied: "User is not permitted to access configuration."}
	accessWebhookWrite = access{roles: []string{RoleConfigAdmin, RoleConfiguredService},
		tenantCore: coreForbidden, denied: "User is not permitted to access configuration."}
	accessWebhookSecret = access{roles: []string{RoleConfigAdmin},
		tenantCore: coreForbidden, denied: "Only configuration admins may read or rotate webhook secrets."}
)

// authorizeDocument authenticates the caller, checks rule's roles and resolves the document
// addressed: "" for the core document, else a tenant URN. Core callers address the core
// document, or a tenant's with ?tenantId=; tenant callers their own tenant's, or the core
// document with ?core only where rule.tenantCore allows. ok=false means the response is written
// (401/403/404).
func (a *API) authorizeDocument(ctx *fasthttp.RequestCtx, rule access) (p *auth.Principal, target string, ok bool) {
	if p, ok = a.authenticate(ctx, false); !ok {
		return nil, "", false
	}
	if !p.HasAnyRole(rule.roles...) {
		fail(ctx, fasthttp.StatusForbidden, rule.denied)
		return nil, "", false
	}
	args := ctx.QueryArgs()
	if ref := args.Peek("tenantId"); ref != nil {
		t, found := a.d.Store.ResolveTenant(string(ref))
		if !found {
			fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
			return nil, "", false
		}
		if !p.Core && t.ID != p.TenantID {
			fail(ctx, fasthttp.StatusForbidden, "User is not permitted to access configuration of another tenant.")
			return nil, "", false
		}
		return p, t.ID, true
	}
	if p.Core {
		return p, "", true
	}
	if args.Has("core") {
		switch rule.tenantCore {
		case coreReadable:
			return p, "", true
		case coreForbidden:
			fail(ctx, fasthttp.StatusForbidden, "User is not permitted to access core webhooks.")
			return nil, "", false
		}
	}
	if p.TenantID == "" {
		fail(ctx, fasthttp.StatusForbidden, "User has no tenant.")
		return nil, "", false
	}
	return p, p.TenantID, true
}

// withoutWebhooks is the core document as a tenant caller reads it: the "webhooks" key (core
// receiver URLs, often with credentials) removed.
func withoutWebhooks(doc []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(doc, &m) != nil {
		return []byte("{}")
	}
	if _, ok := m[stream.WebhooksKey]; !ok {
		return doc
	}
	delete(m, stream.WebhooksKey)
	out, err := json.Marshal(m)
	if err != nil {
		return []byte("{}")
	}
	return out
}
