// Package edge is the edge half of a pushgate server: everything that holds client connections
// and decides *how* bytes reach them — the netpoll event loop (engine/netserver), Engine.IO and
// Socket.IO sessions (engine/transport), the push semantics of Socket.IO namespaces and SSE
// streams (engine/push), the encode-once fan-out (engine/hub), the graceful drain, and the
// metrics of all of these.
//
// A Server takes what it needs from the control half through the Backend interface: tenants,
// the compiled stream registry and its changes, the events in source order, readiness. In one
// process the Backend is the control.Plane itself; in a --workers worker it is the link to the
// parent (cluster.Client). Everything else that differs between the two is a Seam: the bound
// listener, the handler of non-push routes (the API, or a proxy to the parent), the token
// verifier, and the owner routing of Engine.IO sessions across processes.
//
// # Lifecycle
//
//	New       builds the components, joins the Backend (registry changes → hub, events → hub)
//	Run(ctx)  serves until ctx is done, then Drain (readiness 503, listener closed, every client
//	          told "shutdown" through its one end path, spread over the drain window), then
//	          Shutdown of the event loop and Close of the hub and SSE heartbeat
package edge
