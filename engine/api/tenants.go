package api

import (
	"encoding/json"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/store"
)

// RolePlatformService lets a core caller create tenants.
const RolePlatformService = "urn:ads:platform:tenant-service:platform-service"

// maxSmallBody bounds the tenant and configuration request bodies (1 MiB, like ADSP's body parser).
const maxSmallBody = 1 << 20

type tenantList struct {
	Results []store.Tenant `json:"results"`
	Page    struct {
		Size int `json:"size"`
	} `json:"page"`
}

// getTenants lists tenants (tenant-service v2 shape {results, page}). Core callers see every tenant,
// tenant users only their own. ?name= takes any tenant reference, ?realm= an exact realm.
func (a *API) getTenants(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, ok := a.authenticate(ctx, false)
	if !ok {
		return
	}
	var candidates []store.Tenant
	if name := ctx.QueryArgs().Peek("name"); len(name) > 0 {
		if t, found := a.d.Store.ResolveTenant(string(name)); found {
			candidates = append(candidates, t)
		}
	} else {
		candidates = a.d.Store.Tenants()
	}
	realm := string(ctx.QueryArgs().Peek("realm"))
	out := tenantList{Results: []store.Tenant{}}
	for _, t := range candidates {
		if (p.Core || t.ID == p.TenantID) && (realm == "" || t.Realm == realm) {
			out.Results = append(out.Results, t)
		}
	}
	out.Page.Size = len(out.Results)
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// postTenant creates a tenant: core callers with RolePlatformService only.
func (a *API) postTenant(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, ok := a.authenticate(ctx, false)
	if !ok {
		return
	}
	if !p.Core || !p.HasRole(RolePlatformService) {
		fail(ctx, fasthttp.StatusForbidden, "Creating tenants requires a core token with role "+RolePlatformService+".")
		return
	}
	body := ctx.PostBody()
	if len(body) > maxSmallBody {
		fail(ctx, fasthttp.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB.")
		return
	}
	var req struct {
		Name *string `json:"name"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		fail(ctx, fasthttp.StatusBadRequest, "Request body must be a JSON object with a string 'name'.")
		return
	}
	if req.Name == nil {
		fail(ctx, fasthttp.StatusBadRequest, "Tenant name is required.")
		return
	}
	t, err := a.d.Store.CreateTenant(*req.Name)
	switch {
	case errors.Is(err, store.ErrTenantsExternal):
		fail(ctx, fasthttp.StatusConflict, "Tenants are managed by the ADSP tenant service; create the tenant there.")
	case errors.Is(err, store.ErrConflict):
		fail(ctx, fasthttp.StatusConflict, "A tenant with that name already exists.")
	case err != nil:
		a.failWrite(ctx, "create tenant", err)
	default:
		a.applied()
		writeJSON(ctx, fasthttp.StatusCreated, t)
	}
}
