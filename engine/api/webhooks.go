package api

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// Webhooks is the operator surface of the webhook sender (*webhook.Service implements it). tenant
// is a tenant URN, or "" for the core document's webhooks; key is the webhook's key in the
// document. Results are JSON-encodable; an error with an HTTPStatus() int method is answered with
// that status and its message, any other error with 500.
type Webhooks interface {
	List(tenant string) (any, error)
	Attempts(tenant, key string, limit int) (any, error)
	DeadLetters(tenant, key string) (any, error)
	Replay(tenant, key string, ids []string, since time.Time) (any, error)
	SendTest(tenant, key string) (any, error)
	Secret(tenant, key string) (any, error)
	RotateSecret(tenant, key string) (any, error)
	Enable(tenant, key string) (any, error)
}

const webhooksPath = "/push/v1/webhooks"

// addWebhookRoutes registers the operator routes (documented in openapi.json, marked
// "x-pushgate-webhooks"); New calls it when Deps.Webhooks is set.
func (a *API) addWebhookRoutes(add func(method, pattern string, h handler), gated func(handler) handler) {
	add("GET", webhooksPath, (*API).getWebhooks)
	add("GET", webhooksPath+"/{webhook}/attempts", (*API).getWebhookAttempts)
	add("GET", webhooksPath+"/{webhook}/dead-letters", (*API).getWebhookDeadLetters)
	add("POST", webhooksPath+"/{webhook}/dead-letters/replay", gated((*API).postWebhookReplay))
	add("POST", webhooksPath+"/{webhook}/test", gated((*API).postWebhookTest))
	add("GET", webhooksPath+"/{webhook}/secret", (*API).getWebhookSecret)
	add("POST", webhooksPath+"/{webhook}/secret/rotate", gated((*API).postWebhookRotate))
	add("POST", webhooksPath+"/{webhook}/enable", gated((*API).postWebhookEnable))
}

// webhookCaller authorizes a webhook route by its rule (access.go) and returns the document
// addressed.
func (a *API) webhookCaller(ctx *fasthttp.RequestCtx, rule access) (string, bool) {
	_, tenant, ok := a.authorizeDocument(ctx, rule)
	return tenant, ok
}

func (a *API) answerWebhook(ctx *fasthttp.RequestCtx, v any, err error) {
	var se interface{ HTTPStatus() int }
	switch {
	case errors.As(err, &se):
		msg := err.Error()
		var m interface{ Message() string }
		if errors.As(err, &m) {
			msg = m.Message()
		}
		fail(ctx, se.HTTPStatus(), msg)
	case err != nil:
		a.failInternal(ctx, "webhook operation", err)
	default:
		writeJSON(ctx, fasthttp.StatusOK, v)
	}
}

func (a *API) getWebhooks(ctx *fasthttp.RequestCtx, _ map[string]string) {
	if tenant, ok := a.webhookCaller(ctx, accessWebhookRead); ok {
		v, err := a.d.Webhooks.List(tenant)
		a.answerWebhook(ctx, v, err)
	}
}

func (a *API) getWebhookAttempts(ctx *fasthttp.RequestCtx, p map[string]string) {
	tenant, ok := a.webhookCaller(ctx, accessWebhookRead)
	if !ok {
		return
	}
	limit := 50
	if s := ctx.QueryArgs().Peek("limit"); s != nil {
		n, err := strconv.Atoi(string(s))
		if err != nil || n < 1 || n > 1000 {
			fail(ctx, fasthttp.StatusBadRequest, "limit must be an integer from 1 to 1000.")
			return
		}
		limit = n
	}
	v, err := a.d.Webhooks.Attempts(tenant, p["webhook"], limit)
	a.answerWebhook(ctx, v, err)
}

func (a *API) getWebhookDeadLetters(ctx *fasthttp.RequestCtx, p map[string]string) {
	if tenant, ok := a.webhookCaller(ctx, accessWebhookRead); ok {
		v, err := a.d.Webhooks.DeadLetters(tenant, p["webhook"])
		a.answerWebhook(ctx, v, err)
	}
}

func (a *API) postWebhookReplay(ctx *fasthttp.RequestCtx, p map[string]string) {
	tenant, ok := a.webhookCaller(ctx, accessWebhookWrite)
	if !ok {
		return
	}
	var body struct {
		IDs   []string   `json:"ids"`
		Since *time.Time `json:"since"`
	}
	if b := ctx.PostBody(); len(b) > maxSmallBody {
		fail(ctx, fasthttp.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB.")
		return
	} else if json.Unmarshal(b, &body) != nil || (len(body.IDs) == 0) == (body.Since == nil) {
		fail(ctx, fasthttp.StatusBadRequest, `Body must be {"ids":["msg_…",…]} or {"since":"<ISO-8601 time>"}.`)
		return
	}
	var since time.Time
	if body.Since != nil {
		since = *body.Since
	}
	v, err := a.d.Webhooks.Replay(tenant, p["webhook"], body.IDs, since)
	a.answerWebhook(ctx, v, err)
}

func (a *API) postWebhookTest(ctx *fasthttp.RequestCtx, p map[string]string) {
	if tenant, ok := a.webhookCaller(ctx, accessWebhookWrite); ok {
		v, err := a.d.Webhooks.SendTest(tenant, p["webhook"])
		a.answerWebhook(ctx, v, err)
	}
}

func (a *API) getWebhookSecret(ctx *fasthttp.RequestCtx, p map[string]string) {
	if tenant, ok := a.webhookCaller(ctx, accessWebhookSecret); ok {
		v, err := a.d.Webhooks.Secret(tenant, p["webhook"])
		ctx.Response.Header.Set("Cache-Control", "no-store")
		a.answerWebhook(ctx, v, err)
	}
}

func (a *API) postWebhookRotate(ctx *fasthttp.RequestCtx, p map[string]string) {
	if tenant, ok := a.webhookCaller(ctx, accessWebhookSecret); ok {
		v, err := a.d.Webhooks.RotateSecret(tenant, p["webhook"])
		ctx.Response.Header.Set("Cache-Control", "no-store")
		a.answerWebhook(ctx, v, err)
	}
}

func (a *API) postWebhookEnable(ctx *fasthttp.RequestCtx, p map[string]string) {
	if tenant, ok := a.webhookCaller(ctx, accessWebhookWrite); ok {
		v, err := a.d.Webhooks.Enable(tenant, p["webhook"])
		a.answerWebhook(ctx, v, err)
	}
}
