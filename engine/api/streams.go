package api

import (
	"github.com/valyala/fasthttp"
)

// getStreams lists the streams of one tenant scope that the caller may subscribe to, keyed by id.
// Anonymous callers are allowed (public streams); an invalid token is 401.
func (a *API) getStreams(ctx *fasthttp.RequestCtx, _ map[string]string) {
	p, ok := a.authenticate(ctx, true)
	if !ok {
		return
	}
	tenant := p.TenantID
	if ref := ctx.QueryArgs().Peek("tenant"); len(ref) > 0 {
		t, found := a.d.Store.ResolveTenant(string(ref))
		if !found {
			fail(ctx, fasthttp.StatusNotFound, "Tenant not found.")
			return
		}
		tenant = t.ID
	}
	if tenant == "" {
		fail(ctx, fasthttp.StatusBadRequest, "No tenant specified for request.")
		return
	}
	if a.d.Registry == nil {
		fail(ctx, fasthttp.StatusServiceUnavailable, "Streams are not available yet.")
		return
	}
	reg := a.d.Registry()
	if reg == nil {
		fail(ctx, fasthttp.StatusServiceUnavailable, "Streams are not available yet.")
		return
	}
	out := append(make([]byte, 0, 1024), '{')
	n := 0
	for _, s := range reg.List(tenant) {
		if !s.CanSubscribe(p) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, s.ID)
		out = append(out, ':')
		out = s.AppendJSON(out)
		n++
	}
	writeRaw(ctx, fasthttp.StatusOK, append(out, '}'))
}
