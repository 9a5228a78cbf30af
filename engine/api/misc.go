package api

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/pushgate/pushgate/engine/store"
)

type link struct {
	Href string `json:"href"`
}

type rootBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Links       struct {
		Self   link `json:"self"`
		Health link `json:"health"`
		API    link `json:"api"`
		Docs   link `json:"docs"`
	} `json:"_links"`
}

func (a *API) getRoot(ctx *fasthttp.RequestCtx, _ map[string]string) {
	base := a.baseURL(ctx)
	var b rootBody
	b.Name, b.Description = "Push service", "Service for push mode connections."
	b.Links.Self.Href = base + "/"
	b.Links.Health.Href = base + "/health"
	b.Links.API.Href = base + "/stream/v1"
	b.Links.Docs.Href = base + "/swagger/docs/v1"
	writeJSON(ctx, fasthttp.StatusOK, b)
}

func (a *API) getHealth(ctx *fasthttp.RequestCtx, _ map[string]string) {
	writeRaw(ctx, fasthttp.StatusOK, []byte(`{"status":"ok"}`))
}

func (a *API) getReady(ctx *fasthttp.RequestCtx, _ map[string]string) {
	err := a.d.Store.Ready()
	if err != nil {
		err = errors.New("store is closed")
	} else if a.d.Ready != nil {
		err = a.d.Ready()
	}
	if err != nil {
		fail(ctx, fasthttp.StatusServiceUnavailable, "Not ready: "+err.Error())
		return
	}
	writeRaw(ctx, fasthttp.StatusOK, []byte(`{"status":"ready"}`))
}

func newMetricsHandler(g prometheus.Gatherer) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
}

func (a *API) getMetrics(ctx *fasthttp.RequestCtx, _ map[string]string) {
	a.metrics(ctx)
}

func (a *API) getOpenAPI(ctx *fasthttp.RequestCtx, _ map[string]string) {
	writeRaw(ctx, fasthttp.StatusOK, a.openapi)
}

// realmExists reports whether realm is "core" or an existing tenant's realm.
func (a *API) realmExists(realm string) bool {
	if realm == store.CoreRealm {
		return true
	}
	_, ok := a.d.Store.TenantByRealm(realm)
	return ok
}

func (a *API) getDiscovery(ctx *fasthttp.RequestCtx, p map[string]string) {
	if !a.realmExists(p["realm"]) {
		fail(ctx, fasthttp.StatusNotFound, "Realm not found.")
		return
	}
	writeRaw(ctx, fasthttp.StatusOK, a.d.Issuer.DiscoveryJSON(p["realm"]))
}

func (a *API) getJWKS(ctx *fasthttp.RequestCtx, p map[string]string) {
	if !a.realmExists(p["realm"]) {
		fail(ctx, fasthttp.StatusNotFound, "Realm not found.")
		return
	}
	writeRaw(ctx, fasthttp.StatusOK, a.d.Issuer.JWKSJSON())
}
