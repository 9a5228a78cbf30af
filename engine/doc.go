// Package engine assembles one pushgate process: the control half (engine/control: store,
// development issuer, verifier, event source, configuration-service, REST API, stream registry)
// and the edge half (engine/edge: event loop, transports, push semantics, fan-out, drain),
// joined in-process — the control.Plane is the edge's Backend, and the API serves the edge's
// non-push routes. `--workers` assembles the same two halves in different processes
// (engine/cluster); the halves do not know which assembly they are in.
//
// # Lifecycle
//
//	New     bind the listener (port 0 gets its real port before the public URL is derived),
//	        open the control half (store, source, issuer, verifier, registry, API), build the
//	        edge on it
//	Run     serve; every configuration change rebuilds the registry once (control) and installs
//	        it in the hub (edge) before an API write is answered
//	cancel  drain: readiness 503, stop accepting, tell every client "shutdown" through its one
//	        end path and close its transport, spread over Config.DrainTimeout with jitter; then
//	        close the edge and the control half
//
// Dependencies point one way: cmd → engine → engine/* → protocol/*. Config (engine/config) is
// what an operator sets; how the halves are joined is decided here and in engine/cluster.
package engine
