package console

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
)

type previewRequest struct {
	Stream json.RawMessage `json:"stream"`
	Event  json.RawMessage `json:"event"`
}

type previewResult struct {
	Matched bool            `json:"matched"`
	Item    json.RawMessage `json:"item,omitempty"`
}

// previewTenant stands in for the event's tenant when the caller is a core user and the sample
// names none: the projection copies tenantId, so the preview shows where it goes.
const previewTenant = "urn:ads:platform:tenant-service:v2:/tenants/000000000000000000000000"

// previewHandler answers what a subscriber of the given stream definition would receive for a
// sample event, with the server's own code: the definition is validated and compiled as a stored
// document would be (stream.ValidateDocument, stream.Build) and the event decoded as ingest
// decodes it (source.DecodeEvent), then routed (Registry.Route). Nothing is stored or published.
func previewHandler(verify func(context.Context, string) (*auth.Principal, error)) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		p, ok := authenticate(ctx, verify)
		if !ok {
			return
		}
		var in previewRequest
		if !decodeBody(ctx, &in) {
			return
		}
		if len(in.Stream) == 0 || len(in.Event) == 0 {
			fail(ctx, fasthttp.StatusBadRequest, "stream and event are required.")
			return
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(in.Stream, &head); err != nil {
			fail(ctx, fasthttp.StatusBadRequest, "stream: must be an object.")
			return
		}
		key, err := json.Marshal(head.ID)
		if err != nil {
			fail(ctx, fasthttp.StatusBadRequest, "stream: invalid id.")
			return
		}
		doc := append(append(append(append([]byte{'{'}, key...), ':'), in.Stream...), '}')
		if err := stream.ValidateDocument(doc); err != nil {
			fail(ctx, fasthttp.StatusBadRequest, strings.TrimPrefix(err.Error(), stream.ErrInvalidDocument.Error()+": "))
			return
		}
		reg, err := stream.Build(doc, nil)
		if err != nil {
			fail(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		ev, err := source.DecodeEvent(in.Event)
		if err != nil {
			var ie *source.InvalidEventError
			if errors.As(err, &ie) {
				fail(ctx, fasthttp.StatusBadRequest, "event: "+ie.Reason)
			} else {
				fail(ctx, fasthttp.StatusBadRequest, "event: invalid.")
			}
			return
		}
		tenant := p.TenantID
		if tenant == "" {
			tenant = previewTenant
		}
		var res previewResult
		reg.Route(ev.Event(tenant), func(_ *stream.Stream, item []byte) {
			if !res.Matched {
				res.Matched, res.Item = true, append(json.RawMessage(nil), item...)
			}
		})
		writeJSON(ctx, fasthttp.StatusOK, res)
	}
}
