// Package config holds the operator's settings of a pushgate server (Config: one field per flag
// of `pushgate serve`, zero meaning the documented default) and the policies derived from them
// that both halves of the server apply the same way: development or production mode, where
// tokens come from (IssuerBase), and which origins may connect (CORS, OriginAllowed).
//
// Both halves read it: engine/control (store, issuer, verifier, sources, API) and engine/edge
// (event loop, transports, fan-out). It holds no wiring between them.
package config
