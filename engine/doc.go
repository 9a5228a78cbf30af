// Package engine assembles a pushgate server: it binds the one port, opens the backend (the local
// store and event source, or a worker's link to its parent), builds the stream registry, the hub,
// the Socket.IO and SSE transports and the REST API, and runs them until shutdown.
//
// # Lifecycle
//
//	New     bind the listener (port 0 gets its real port before the public URL is derived),
//	        open the store, the development issuer and the verifier, build everything
//	Run     serve; rebuild the stream registry on every configuration change
//	cancel  drain: readiness 503, stop accepting, tell every client "shutdown" and close its
//	        transport, spread over Config.DrainTimeout with jitter; then close the rest
//
// Dependencies point one way: cmd → engine → engine/* → protocol/*. Configuration is the plain
// Config struct; cmd/pushgate fills it from flags and PUSHGATE_* variables.
package engine
