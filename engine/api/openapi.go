package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"strings"
)

// openapiJSON is the hand-written OpenAPI 3.0 document of every route, including the engine-served
// SSE route, the development issuer routes (marked "x-pushgate-dev-issuer": true) and the webhook
// operator routes (marked "x-pushgate-webhooks": true). TestOpenAPI
// checks it against Routes.
//
//go:embed openapi.json
var openapiJSON []byte

// buildOpenAPI returns the served document: the embedded one with servers set to PublicURL and,
// without an Issuer, the development issuer paths removed, as are the extra paths (Deps.Extra)
// that are not mounted.
func (a *API) buildOpenAPI() []byte {
	var doc map[string]any
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		panic("api: embedded openapi.json: " + err.Error()) // caught by tests
	}
	if a.d.PublicURL != "" {
		doc["servers"] = []any{map[string]any{"url": a.d.PublicURL}}
	}
	mounted := map[string]bool{}
	for _, e := range a.d.Extra {
		mounted[e.Pattern] = true
	}
	if paths, ok := doc["paths"].(map[string]any); ok {
		for p, item := range paths {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			if (m["x-pushgate-dev-issuer"] == true && a.d.Issuer == nil) || (m["x-pushgate-extra"] == true && !mounted[p]) ||
				(m["x-pushgate-webhooks"] == true && a.d.Webhooks == nil) ||
				(m["x-pushgate-operator"] == true && a.d.Operator == nil) {
				delete(paths, p)
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic("api: encode openapi: " + err.Error())
	}
	return []byte(strings.TrimRight(buf.String(), "\n"))
}
