package api

import (
	"context"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
)

// Issuer serves the development issuer's discovery documents (*devissuer.Issuer implements it).
type Issuer interface {
	// DiscoveryJSON returns the OpenID discovery document of realm.
	DiscoveryJSON(realm string) []byte
	// JWKSJSON returns the JSON Web Key Set.
	JWKSJSON() []byte
}

// Deps are the collaborators of the REST surface.
type Deps struct {
	// Store holds tenants and stream documents. Required.
	Store *store.Store
	// Verify checks a bearer token and returns its principal. Required.
	Verify func(ctx context.Context, token string) (*auth.Principal, error)
	// Registry returns the current stream registry; nil (or a nil result) answers the streams list
	// with 503.
	Registry func() *stream.Registry
	// Publisher receives ingested events; nil answers ingest with 503.
	Publisher source.Publisher
	// Issuer enables the development issuer routes; leave nil in production (an interface holding a
	// nil pointer counts as set).
	Issuer Issuer
	// PublicURL is the absolute base of links and of the OpenAPI server, e.g. "http://127.0.0.1:8080".
	// Empty means "http://<Host header>" per request (and no servers entry in the OpenAPI document).
	PublicURL string
	// Ready reports readiness for /readyz (nil error = ready). Nil means the store's readiness only.
	Ready func() error
	// Starting, when set, reports why the server is still starting (nil once started): writes
	// (POST events, POST tenants, PATCH configuration) answer 503 with Retry-After until then.
	Starting func() error
	// Gatherer is exposed on /metrics. Nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives unexpected errors (never tokens). Nil means slog.Default().
	Logger *slog.Logger
	// Applied, when set, runs after a tenant or configuration write has committed and before the
	// answer is written: the server rebuilds its stream registry there, so a caller that saw the
	// answer finds its change on this instance (read-your-writes; other instances follow within
	// the replication delay).
	Applied func()
	// Extra are routes served by other packages (the web console, engine/console), appended to the
	// route table. Each must be documented in openapi.json under a path marked
	// "x-pushgate-extra": true; marked paths that are not mounted are left out of the served
	// document.
	Extra []Extra
	// Webhooks enables the webhook operator routes (/push/v1/webhooks…); nil leaves them out.
	Webhooks Webhooks
	// Operator enables the connection operator routes (/push/v1/connections…,
	// /push/v1/revocations); nil leaves them out.
	Operator Operator
	// Durable, when set, makes the ingest answer only once the event's webhook deliveries are
	// durable (embedded mode; *webhook.Service implements it).
	Durable DurableWebhooks
}

// Extra is a route served by another package: Method and a Pattern as in Route.
type Extra struct {
	Method  string
	Pattern string
	Handler fasthttp.RequestHandler
}

// Route is one REST route: Method and a Pattern whose "{name}" segments match one path segment.
type Route struct {
	Method  string
	Pattern string
	// Engine marks a route served by the engine itself (the SSE stream); Handle answers 404 for it.
	Engine bool
}

type route struct {
	Route
	segs    []string
	handler func(a *API, ctx *fasthttp.RequestCtx, params map[string]string)
}

// handler serves one route; params holds the pattern's "{name}" segments.
type handler = func(a *API, ctx *fasthttp.RequestCtx, params map[string]string)

// API is the REST handler. Create it with New.
type API struct {
	d       Deps
	log     *slog.Logger
	routes  []route
	openapi []byte
	metrics fasthttp.RequestHandler
}

// New builds the handler. It panics if d.Store or d.Verify is nil (a wiring error).
func New(d Deps) *API {
	if d.Store == nil || d.Verify == nil {
		panic("api: Deps.Store and Deps.Verify are required")
	}
	if d.Gatherer == nil {
		d.Gatherer = prometheus.DefaultGatherer
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	a := &API{d: d, log: d.Logger}
	if a.log == nil {
		a.log = slog.Default()
	}
	add := func(method, pattern string, h handler) {
		a.routes = append(a.routes, route{Route: Route{Method: method, Pattern: pattern, Engine: h == nil},
			segs: strings.Split(pattern, "/"), handler: h})
	}
	add("GET", "/", (*API).getRoot)
	add("GET", "/health", (*API).getHealth)
	add("GET", "/livez", (*API).getHealth)
	add("GET", "/readyz", (*API).getReady)
	add("GET", "/metrics", (*API).getMetrics)
	add("GET", "/swagger/docs/v1", (*API).getOpenAPI)
	add("GET", "/stream/v1/streams", (*API).getStreams)
	add("GET", "/stream/v1/streams/{stream}", nil)
	add("GET", "/tenant/v2/tenants", (*API).getTenants)
	add("POST", "/tenant/v2/tenants", gated((*API).postTenant))
	add("GET", configPath, (*API).getConfig)
	add("PATCH", configPath, gated((*API).patchConfig))
	add("GET", configPath+"/latest", (*API).getLatest)
	add("POST", "/event/v1/events", gated((*API).postEvent))
	if d.Webhooks != nil {
		a.addWebhookRoutes(add, gated)
	}
	if d.Operator != nil {
		a.addOperatorRoutes(add, gated)
	}
	if d.Issuer != nil {
		add("GET", "/auth/realms/{realm}/.well-known/openid-configuration", (*API).getDiscovery)
		add("GET", "/auth/realms/{realm}/protocol/openid-connect/certs", (*API).getJWKS)
	}
	for _, e := range d.Extra {
		h := e.Handler
		add(e.Method, e.Pattern, func(_ *API, ctx *fasthttp.RequestCtx, _ map[string]string) { h(ctx) })
	}
	a.openapi = a.buildOpenAPI()
	a.metrics = newMetricsHandler(d.Gatherer)
	return a
}

// Routes returns the route table (a fresh slice), including the engine-served SSE route.
func (a *API) Routes() []Route {
	out := make([]Route, len(a.routes))
	for i, r := range a.routes {
		out[i] = r.Route
	}
	return out
}

// Handle serves one request.
func (a *API) Handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	segs := strings.Split(path, "/")
	var allowed []string
	for i := range a.routes {
		r := &a.routes[i]
		params, ok := match(r.segs, segs)
		if !ok {
			continue
		}
		if r.Method != method || r.handler == nil {
			if r.handler != nil {
				allowed = append(allowed, r.Method)
			}
			continue
		}
		r.handler(a, ctx, params)
		return
	}
	if len(allowed) > 0 {
		ctx.Response.Header.Set("Allow", strings.Join(allowed, ", "))
		fail(ctx, fasthttp.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	fail(ctx, fasthttp.StatusNotFound, "Not found.")
}

func match(pattern, path []string) (map[string]string, bool) {
	if len(pattern) != len(path) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if path[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = path[i]
			continue
		}
		if p != path[i] {
			return nil, false
		}
	}
	return params, true
}

// baseURL is PublicURL, or http://<Host> when it is not configured.
func (a *API) baseURL(ctx *fasthttp.RequestCtx) string {
	if a.d.PublicURL != "" {
		return a.d.PublicURL
	}
	return "http://" + string(ctx.Host())
}

// applied runs Deps.Applied after a committed write.
func (a *API) applied() {
	if a.d.Applied != nil {
		a.d.Applied()
	}
}
