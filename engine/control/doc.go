// Package control is the control half of a pushgate server: everything that exists once per
// deployment unit and decides *what* is pushed — the store of tenants and stream documents (with
// its replication through the Kafka configuration topic), the development issuer, the token
// verifier of the REST API, the event source (the embedded bus or Kafka, and so event ids), an
// optional ADSP configuration-service as the source of stream documents, the optional ADSP
// platform clients (engine/adsp: the tenant service owning the tenants, the event service
// receiving push-service:webhook-triggered, the directory finding them; adsp.go), the REST API,
// and the compiled stream registry.
//
// Every event on its way to the edge (Subscribe), from whichever source, is also observed here:
// configuration-service events about platform:push-service invalidate that tenant's document and
// tenant-service events (tenant-created, -deleted, -name-updated) make the tenant list be read
// again, so both apply within a second on the embedded bus, Kafka or any other source.
//
// A Plane is assembled once and joined to the edge half (engine/edge: event loop, transports,
// fan-out) through the edge.Backend interface, which *Plane implements:
//
//	one process       engine.Server = control.Plane + edge.Server, in-process
//	--workers N       parent: control.Plane + cluster.LinkServer; each worker: edge.Server with a
//	                  cluster.Client as its Backend (the parent's snapshots and events)
//
// # Registry
//
// Every change of tenants or documents (a store notification, a replicated record, a
// configuration-service invalidation, a new tenant list, or this instance's own API write) rebuilds the registry
// once, with BuildRegistry, and then calls each OnChange watcher in registration order on the
// rebuilding goroutine. An API write is answered only after that (read-your-writes): in one
// process the edge has installed the new registry, with --workers the parent has queued the new
// snapshot to every worker. Documents that do not compile are skipped and reported (logged);
// they never freeze the other tenants' changes.
package control
