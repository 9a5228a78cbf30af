package api

import (
	"strconv"

	"github.com/valyala/fasthttp"
)

// startupRetryAfter is the Retry-After (seconds) of a write refused while the server starts.
const startupRetryAfter = 5

// gated refuses h's writes while Deps.Starting reports an error: until the configuration is loaded
// (the Kafka config topic read to its end) and the events topic is consumed, a tenant creation or
// PATCH could be decided against stale state and an event could not be published. The answer is
// 503 {"errorMessage": "…"} with the reason and Retry-After.
func gated(h handler) handler {
	return func(a *API, ctx *fasthttp.RequestCtx, p map[string]string) {
		if a.d.Starting != nil {
			if err := a.d.Starting(); err != nil {
				ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(startupRetryAfter))
				fail(ctx, fasthttp.StatusServiceUnavailable, "The server is starting; retry later. "+err.Error())
				return
			}
		}
		h(a, ctx, p)
	}
}
