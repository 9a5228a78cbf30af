package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
)

// writeJSON encodes v without HTML escaping, as the REST routes do.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status, buf = fasthttp.StatusInternalServerError, *bytes.NewBufferString(`{"errorMessage":"Failed to encode response."}`)
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetStatusCode(status)
	ctx.SetBody(bytes.TrimRight(buf.Bytes(), "\n"))
}

// fail writes the ADSP error body {"errorMessage": msg}.
func fail(ctx *fasthttp.RequestCtx, status int, msg string) {
	if status == fasthttp.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="pushgate"`)
	}
	writeJSON(ctx, status, struct {
		ErrorMessage string `json:"errorMessage"`
	}{msg})
}

var errNoToken = errors.New("console: no bearer token")

// authenticate verifies the Authorization bearer token; ok=false means a 401 was written.
func authenticate(ctx *fasthttp.RequestCtx, verify func(context.Context, string) (*auth.Principal, error)) (*auth.Principal, bool) {
	h := strings.TrimSpace(string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)))
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	var p *auth.Principal
	err := errNoToken
	if strings.EqualFold(scheme, "Bearer") && tok != "" {
		p, err = verify(ctx, tok)
	}
	if err != nil || p == nil {
		fail(ctx, fasthttp.StatusUnauthorized, "A valid bearer token is required.")
		return nil, false
	}
	return p, true
}

// decodeBody decodes a JSON request body into v; ok=false means a 400/413/415 was written.
func decodeBody(ctx *fasthttp.RequestCtx, v any) bool {
	ct := string(ctx.Request.Header.ContentType())
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		fail(ctx, fasthttp.StatusUnsupportedMediaType, "Content-Type must be application/json.")
		return false
	}
	body := ctx.PostBody()
	if len(body) > maxBody {
		fail(ctx, fasthttp.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB.")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		fail(ctx, fasthttp.StatusBadRequest, "Invalid JSON body: "+err.Error())
		return false
	}
	return true
}

const maxBody = 1 << 20
