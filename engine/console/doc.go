// Package console is pushgate's web console: a few static files (HTML, CSS, vanilla JavaScript; no
// build step, no CDN, no third-party script) embedded with go:embed and served at /console on the
// one port, plus three small JSON routes the page needs:
//
//	GET  /console, /console/{asset}   the page and its assets
//	POST /console/api/token           mint a development token (development mode only)
//	POST /console/api/preview         run a stream definition on a sample event (server code)
//	GET  /console/api/status          connections, subscriptions, deliveries, slow-consumer closes
//
// Everything else the console does goes through the public routes a client would use: the
// streams list, SSE through the browser's EventSource, the configuration PATCH and event ingest.
//
// Routes returns the routes as api.Extra values; the engine mounts them into the REST router, and
// openapi.json documents them (paths marked "x-pushgate-extra").
//
// # Security
//
// The console is on in development mode and behind --console in production, where it never mints
// tokens: the mint route is not mounted (404) without a development issuer. In development mode it
// answers only loopback clients (a development server bound to 0.0.0.0 must not hand core tokens
// to its network), only requests addressed to this server — Host the public URL's host or a
// loopback name at its port, Origin (when sent) its own — so a DNS-rebinding page is refused
// (devguard.go), and only JSON bodies (a cross-site form cannot post one without a CORS preflight,
// which the REST routes do not answer). Tokens are never logged. The page keeps its token in
// sessionStorage and sends it as a bearer header, and as ?token= only to EventSource, which cannot
// set headers.
//
// # Concurrency
//
// The handlers hold no per-request state and are safe for concurrent use.
package console
