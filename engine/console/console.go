package console

import (
	"bytes"
	"context"
	"embed"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/store"
)

//go:embed static
var staticFS embed.FS

// Tenants resolves tenant references (*store.Store implements it).
type Tenants interface {
	ResolveTenant(ref string) (store.Tenant, bool)
}

// Deps are the collaborators of the console routes.
type Deps struct {
	// Issuer mints development tokens; nil (production mode) leaves the mint route unmounted.
	Issuer *devissuer.Issuer
	// Tenants resolves the tenant named in a mint request. Required with Issuer.
	Tenants Tenants
	// Verify checks the bearer token of a preview request. Required.
	Verify func(ctx context.Context, token string) (*auth.Principal, error)
	// Gatherer is read by the status route: the registry /metrics serves. Nil means
	// prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// PublicURL (e.g. http://127.0.0.1:8080) and Listen (the listen address) name the Host values
	// the development-only routes accept (devguard.go): the public URL's host, and loopback names
	// at its port or the listen port.
	PublicURL, Listen string
}

// Routes returns the console's routes for api.Deps.Extra. It panics without Verify (a wiring error).
func Routes(d Deps) []api.Extra {
	if d.Verify == nil {
		panic("console: Deps.Verify is required")
	}
	if d.Gatherer == nil {
		d.Gatherer = prometheus.DefaultGatherer
	}
	out := []api.Extra{
		{Method: "GET", Pattern: "/console", Handler: indexHandler(d.Issuer != nil)},
		{Method: "GET", Pattern: "/console/{asset}", Handler: serveAsset},
		{Method: "POST", Pattern: "/console/api/preview", Handler: previewHandler(d.Verify)},
		{Method: "GET", Pattern: "/console/api/status", Handler: statusHandler(d.Gatherer)},
	}
	if d.Issuer != nil {
		if d.Tenants == nil {
			panic("console: Deps.Tenants is required with an Issuer")
		}
		out = append(out, api.Extra{Method: "POST", Pattern: "/console/api/token", Handler: mintHandler(d.Issuer, d.Tenants, newHostGuard(d.PublicURL, d.Listen))})
	}
	return out
}

// indexHandler serves the page; with minting it marks the body so the page offers the
// development sign-in (the page has no other way to know the mode without a failing request).
func indexHandler(mint bool) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		serveFile(ctx, "index.html")
		if mint {
			ctx.SetBody(bytes.Replace(ctx.Response.Body(), []byte(`data-mint="off"`), []byte(`data-mint="on"`), 1))
		}
	}
}

func serveAsset(ctx *fasthttp.RequestCtx) {
	name := strings.TrimPrefix(string(ctx.Path()), "/console/")
	if name == "" || name == "index.html" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		fail(ctx, fasthttp.StatusNotFound, "Not found.")
		return
	}
	serveFile(ctx, name)
}

func serveFile(ctx *fasthttp.RequestCtx, name string) {
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		fail(ctx, fasthttp.StatusNotFound, "Not found.")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := &ctx.Response.Header
	h.SetContentType(ct)
	// The files change only with the binary; no-cache keeps an upgraded server's page consistent.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// Only this origin's scripts, styles and connections: no inline script, no third party.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b)
}
