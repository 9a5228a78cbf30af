package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/protocol/jsontext"
)

const contentTypeJSON = "application/json"

// writeJSON encodes v without HTML escaping (JavaScript clients see the bytes JSON.stringify would
// produce).
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fail(ctx, fasthttp.StatusInternalServerError, "Failed to encode response.")
		return
	}
	writeRaw(ctx, status, bytes.TrimRight(buf.Bytes(), "\n"))
}

func writeRaw(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.Response.Header.SetContentType(contentTypeJSON)
	ctx.SetStatusCode(status)
	ctx.SetBody(body)
}

type errorBody struct {
	ErrorMessage string `json:"errorMessage"`
}

// fail writes the ADSP error body.
func fail(ctx *fasthttp.RequestCtx, status int, msg string) {
	if status == fasthttp.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="pushgate"`)
	}
	writeJSON(ctx, status, errorBody{ErrorMessage: msg})
}

// failInternal logs err (which must not contain a token) and answers 500.
func (a *API) failInternal(ctx *fasthttp.RequestCtx, what string, err error) {
	a.log.Error("api: "+what, "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	fail(ctx, fasthttp.StatusInternalServerError, "Internal server error.")
}

var (
	errNoToken  = errors.New("api: no bearer token")
	errBadToken = errors.New("api: invalid bearer token")
)

// bearer returns the token of the Authorization header; ok=false when the header is absent. The
// token aliases the request's header (a 1 KiB JWT copied per request was the largest allocation of
// an ingest POST, BENCHMARKS.md §2d): it is for Verify, which keeps none of it, and for nothing
// that outlives the request.
func bearer(ctx *fasthttp.RequestCtx) (token string, present bool, err error) {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if h == nil {
		return "", false, nil
	}
	scheme, tok, found := bytes.Cut(bytes.TrimSpace(h), []byte(" "))
	tok = bytes.TrimSpace(tok)
	if !found || !bytes.EqualFold(scheme, []byte("Bearer")) || len(tok) == 0 {
		return "", true, errBadToken
	}
	return unsafe.String(&tok[0], len(tok)), true, nil
}

// principal authenticates the request. Without a token it returns auth.AnonymousPrincipal when
// optional, errNoToken otherwise; a present token that fails verification is always errBadToken.
func (a *API) principal(ctx *fasthttp.RequestCtx, optional bool) (*auth.Principal, error) {
	tok, present, err := bearer(ctx)
	if err != nil {
		return nil, err
	}
	if !present {
		if optional {
			return auth.AnonymousPrincipal, nil
		}
		return nil, errNoToken
	}
	p, err := a.d.Verify(ctx, tok)
	if err != nil || p == nil {
		return nil, errBadToken // err may describe the token: not logged, not echoed
	}
	return p, nil
}

// authenticate is principal plus the 401 answer; ok=false means the response is written.
func (a *API) authenticate(ctx *fasthttp.RequestCtx, optional bool) (*auth.Principal, bool) {
	p, err := a.principal(ctx, optional)
	switch {
	case errors.Is(err, errNoToken):
		fail(ctx, fasthttp.StatusUnauthorized, "Authorization bearer token is required.")
		return nil, false
	case err != nil:
		fail(ctx, fasthttp.StatusUnauthorized, "Bearer token is invalid or expired.")
		return nil, false
	}
	return p, true
}

// isoTime marshals as JavaScript's Date.toISOString.
type isoTime time.Time

func (t isoTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z") + `"`), nil
}

// appendJSONString appends s as a JSON string without HTML escaping.
func appendJSONString(dst []byte, s string) []byte { return jsontext.AppendString(dst, s) }

// failWrite answers the errors every store write shares: invalid documents (400), a closed store
// (503), a change Kafka did not acknowledge (503, retry), anything else (500, logged).
func (a *API) failWrite(ctx *fasthttp.RequestCtx, what string, err error) {
	var ve *store.ValidationError
	switch {
	case errors.As(err, &ve):
		fail(ctx, fasthttp.StatusBadRequest, ve.Reason)
	case errors.Is(err, store.ErrClosed):
		fail(ctx, fasthttp.StatusServiceUnavailable, "Store is not available.")
	case errors.Is(err, store.ErrReplication):
		ctx.Response.Header.Set("Retry-After", "1")
		fail(ctx, fasthttp.StatusServiceUnavailable, "The change could not be shared with the other instances; try again.")
	default:
		a.failInternal(ctx, what, err)
	}
}
