package api

import (
	"encoding/json"
	"errors"

	"github.com/valyala/fasthttp"

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
	p, tenant, ok := a.authorizeDocument(ctx, accessConfigRead)
	if !ok {
		return
	}
	rev, exists, ok := a.readConfig(ctx, tenant)
	if !ok {
		return
	}
	if tenant == "" && !p.Core {
		rev.Configuration = withoutWebhooks(rev.Configuration)
	}
	body := configBody{Namespace: configNamespace, Name: configName, TenantID: tenant}
	if exists {
		body.Latest = newRevisionBody(rev)
	}
	writeJSON(ctx, fasthttp.StatusOK, body)
}

func (a *API) getLatest(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, tenant, ok := a.authorizeDocument(ctx, accessConfigRead)
	if !ok {
		return
	}
	rev, exists, ok := a.readConfig(ctx, tenant)
	if !ok {
		return
	}
	if tenant == "" && !p.Core {
		rev.Configuration = withoutWebhooks(rev.Configuration)
	}
	if !exists {
		writeRaw(ctx, fasthttp.StatusOK, []byte("{}"))
		return
	}
	writeRaw(ctx, fasthttp.StatusOK, rev.Configuration)
}

func (a *API) patchConfig(ctx *fasthttp.RequestCtx, _ map[string]string) {
	_, tenant, ok := a.authorizeDocument(ctx, accessConfigWrite)
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
