// Package api is pushgate's REST surface on the shared port: service links, health, readiness,
// metrics, the OpenAPI document, the streams list, the embedded tenant-service and
// configuration-service subsets, event ingest and the development issuer's discovery routes.
//
// The engine parses HTTP with fasthttp and calls (*API).Handle for every request that is not
// Socket.IO or the SSE stream route (GET /stream/v1/streams/{stream}); that route appears in Routes
// and in the OpenAPI document with Engine set, so the document covers it.
//
// # Routes
//
//	GET   /                                                        200
//	GET   /health, /livez                                          200 (liveness)
//	GET   /readyz                                                  200, 503
//	GET   /metrics                                                 200 (Prometheus text)
//	GET   /swagger/docs/v1                                         200 (OpenAPI 3.0)
//	GET   /stream/v1/streams[?tenant=]                             200, 400, 401, 404, 503
//	GET   /tenant/v2/tenants[?name=&realm=]                        200, 401
//	POST  /tenant/v2/tenants                                       201, 400, 401, 403, 409, 413
//	GET   /configuration/v2/configuration/platform/push-service[/latest][?tenantId=|?core]
//	                                                               200, 401, 403, 404
//	PATCH /configuration/v2/configuration/platform/push-service[?tenantId=]
//	                                                               200, 400, 401, 403, 404, 413
//	POST  /event/v1/events                                         200, 400, 401, 403, 404, 413, 503
//	GET   /auth/realms/{realm}/.well-known/openid-configuration    200, 404 (Deps.Issuer set)
//	GET   /auth/realms/{realm}/protocol/openid-connect/certs       200, 404 (Deps.Issuer set)
//	GET   /push/v1/connections[?tenant=&stream=&sub=&limit=&cursor=] 200, 400, 401, 403, 404, 503 (Deps.Operator set)
//	POST  /push/v1/connections/disconnect                          202, 400, 401, 403, 404, 413, 503
//	POST  /push/v1/revocations                                     201, 400, 401, 403, 404, 413, 503
//	GET   /push/v1/events/{eventId}[?sub=]                         200, 400, 401, 403, 404, 503
//
// Deps.Extra adds routes served by other packages (engine/console: GET /console, GET
// /console/{asset}, POST /console/api/token, POST /console/api/preview, GET /console/api/status),
// documented in openapi.json under paths marked "x-pushgate-extra".
//
// An unknown path is 404 and a known path with another method 405 (with Allow).
//
// # Errors and tokens
//
// Every error is {"errorMessage":"…"} with Content-Type application/json. Tokens come only from
// "Authorization: Bearer"; a route that needs one answers 401 without it, and a present token that
// fails verification is 401 on every route (it never degrades to anonymous). Tokens are never logged.
// Wherever a tenant is named (tenantId, tenant, name) the slug, the name, the bare id and the URN are
// accepted; an unknown tenant is 404.
//
// # Concurrency
//
// Handle is safe for concurrent use; API holds no per-request state. The handlers read
// Deps.Registry() once per request.
package api
