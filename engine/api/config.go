package api

import (
	"encoding/json"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/store"
)

// Configuration-service roles.
const (
	RoleConfigAdmin       = "urn:ads:platform:configuration-service:configuration-admin"
	RoleConfiguredService = "urn:ads:platform:configuration-service:configured-service"
	RoleConfigReader      = "urn:ads:platform:configuration-service:configuration-reader"
)

const (
	configPath      = "/configuration/v2/configuration/platform/push-service"
	configNamespace = "platform"
	configName      = "push-service"
	configURN       = "urn:ads:platform:configuration-service:v2:/configuration/platform/push-service"
)

type revisionBody struct {
	Revision      int             `json:"revision"`
	Configuration json.RawMessage `json:"configuration"`
	LastUpdated   isoTime         `json:"lastUpdated"`
	Created       isoTime         `json:"created"`
}

func newRevisionBody(r store.Revision) *revisionBody {
	return &revisionBody{Revision: r.Revision, Configuration: r.Configuration,
		LastUpdated: isoTime(r.LastUpdated), Created: isoTime(r.Created)}
}

type configBody struct {
	URN       string        `json:"urn,omitempty"`
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	TenantID  string        `json:"tenantId,omitempty"`
	Latest    *revisionBody `json:"latest,omitempty"`
}

// configTarget resolves which document the caller addresses: "" for the core document, else a tenant
// URN. ok=false means the response is written (403/404).
func (a *API) configTarget(ctx *fasthttp.RequestCtx, p *auth.Principal, read bool) (string, bool) {
	args := ctx.QueryArgs()
	if ref := args.Peek("tenantId"); ref != nil {
		t, found := a.d.Store.ResolveTenant(string(ref))
		if !found {
			fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
			return "", false
		}
		if !p.Core && t.ID != p.TenantID {
			fail(ctx, fasthttp.StatusForbidden, "User is not permitted to access configuration of another tenant.")
			return "", false
		}
		return t.ID, true
	}
	if p.Core || (read && args.Has("core")) {
		return "", true
	}
	if p.TenantID == "" {
		fail(ctx, fasthttp.StatusForbidden, "User has no tenant.")
		return "", false
	}
	return p.TenantID, true
}

// configCaller authenticates and checks the configuration roles; ok=false means answered.
func (a *API) configCaller(ctx *fasthttp.RequestCtx, read bool) (*auth.Principal, string, bool) {
	p, ok := a.authenticate(ctx, false)
	if !ok {
		return nil, "", false
	}
	roles := []string{RoleConfigAdmin, RoleConfiguredService}
	if read {
		roles = append(roles, RoleConfigReader)
	}
	if !p.HasAnyRole(roles...) {
		fail(ctx, fasthttp.StatusForbidden, "User is not permitted to access configuration.")
		return nil, "", false
	}
	tenant, ok := a.configTarget(ctx, p, read)
	return p, tenant, ok
}

// readConfig returns the revision, whether one exists, or answers an error (ok=false).
func (a *API) readConfig(ctx *fasthttp.RequestCtx, tenant string) (rev store.Revision, exists, ok bool) {
	rev, err := a.d.Store.Config(tenant)
	switch {
	case err == nil:
		return rev, true, true
	case errors.Is(err, store.ErrNoConfig):
		return rev, false, true
	case errors.Is(err, store.ErrNotFound):
		fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
	case errors.Is(err, store.ErrClosed):
		fail(ctx, fasthttp.StatusServiceUnavailable, "Store is not available.")
	default:
		a.failInternal(ctx, "read configuration", err)
	}
	return rev, false, false
}

func (a *API) getConfig(ctx *fasthttp.RequestCtx, _ map[string]string) {
	_, tenant, ok := a.configCaller(ctx, true)
	if !ok {
		return
	}
	rev, exists, ok := a.readConfig(ctx, tenant)
	if !ok {
		return
	}
	body := configBody{Namespace: configNamespace, Name: configName, TenantID: tenant}
	if exists {
		body.Latest = newRevisionBody(rev)
	}
	writeJSON(ctx, fasthttp.StatusOK, body)
}

func (a *API) getLatest(ctx *fasthttp.RequestCtx, _ map[string]string) {
	_, tenant, ok := a.configCaller(ctx, true)
	if !ok {
		return
	}
	rev, exists, ok := a.readConfig(ctx, tenant)
	if !ok {
		return
	}
	if !exists {
		writeRaw(ctx, fasthttp.StatusOK, []byte("{}"))
		return
	}
	writeRaw(ctx, fasthttp.StatusOK, rev.Configuration)
}

func (a *API) patchConfig(ctx *fasthttp.RequestCtx, _ map[string]string) {
	_, tenant, ok := a.configCaller(ctx, false)
	if !ok {
		return
	}
	body := ctx.PostBody()
	if len(body) > maxSmallBody {
		fail(ctx, fasthttp.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB.")
		return
	}
	rev, err := a.d.Store.PatchConfig(tenant, body)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
	case err != nil:
		a.failWrite(ctx, "patch configuration", err)
	default:
		a.applied()
		writeJSON(ctx, fasthttp.StatusOK, configBody{URN: configURN, Namespace: configNamespace,
			Name: configName, Latest: newRevisionBody(rev)})
	}
}
