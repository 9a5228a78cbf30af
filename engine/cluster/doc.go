// Package cluster runs pushgate as several processes on one port (`pushgate serve --workers N`),
// so one machine can hold more connections than one process may open files (contract.md
// "Several processes"), and as many instances behind a load balancer without sticky sessions
// (--cluster-listen, "Many instances" below).
//
// # Processes
//
// The parent (Parent, RunParent) is the control half of the server (engine/control: the store,
// the development issuer and its key, the event source — and so event-id assignment —, the
// configuration-service reader and the REST API) plus the LinkServer that feeds the workers:
// every registry rebuild of the control half becomes a SNAPSHOT, every event an EVENT frame.
// It serves the API on <data-dir>/run/api.sock and the worker links on <data-dir>/run/link.sock,
// starts N copies of the executable as workers (each in its own process group, with SIGTERM as
// its parent-death signal, pid in run/worker-<i>.pid) and restarts a worker that exits (backoff
// 100ms doubling to 5s). On SIGTERM/SIGINT it sends SIGTERM to the workers, waits for their drain
// (--drain-timeout + 5s, then SIGKILL) and exits 0 when every worker exited 0.
//
// A worker (Worker, RunWorker) is the edge half (engine/edge) whose edge.Backend is its link
// Client: tenants (a store.TenantIndex) and the registry (control.BuildRegistry) come from the
// parent's latest snapshot, events from the link. One process (engine.Server) joins the same two
// halves in-process, so the three assemblies share every component and differ only in the
// Seams they pass.
//
// A worker binds the shared --listen address with SO_REUSEPORT (the kernel spreads new connections
// over the workers) and serves the same routes on run/worker-<i>.sock. Everything that is not a
// push route (ingest, configuration, tenants, streams list, OpenAPI, the development issuer's
// discovery and JWKS) goes to the edge's fallback, a Proxy to api.sock; when the parent is
// unreachable it answers 503 {"errorMessage":"…"}. /readyz answers 503 locally while the
// worker's link is down.
//
// # Engine.IO sessions
//
// A worker's session ids start with "w<i>.". A polling request carrying another worker's sid is
// relayed by a Forwarder: the raw request is written to run/worker-<j>.sock (kept-alive
// connections, one goroutine per request in flight, a GET waits at most the ping interval) and
// the answer is relayed to the client, so polling works whichever worker a request reaches. A
// sid naming a worker without a socket is answered "Session ID unknown" by the transport. A
// WebSocket upgrade for another worker's session cannot be relayed, so the connection moves:
// the worker that accepted it passes its descriptor (SCM_RIGHTS) and the request bytes it read
// over the owner's run/handoff-<j>.sock (SOCK_SEQPACKET, one message per connection, see
// handoff.go) and lets go of it; the owner adopts the descriptor into its event loop
// (netserver.Server.Adopt) and answers the upgrade itself. When the handoff fails the upgrade is
// answered 400 and socket.io-client keeps polling. Forwarded polling requests reach the owner
// from a Unix address, so --max-conns-per-ip and --connect-rate see them as one client; adopted
// connections were admitted by the worker that accepted them.
//
// # Many instances
//
// Several Kafka-mode instances (separate machines or processes, `--cluster-listen`) behind any
// load balancer without affinity: the same owner routing as for workers, one level up. Each
// instance has an id (--instance-id, or 8 random characters of [a-z2-7] per start; ValidInstanceID)
// and its Engine.IO session ids start with it ("<id>.<rand>", InstanceSIDPrefix). An Instance
// (instance.go) puts three pieces together:
//
//   - a kafkadir.Directory (engine/kafka/directory): the instance announces {id, internal address, heartbeat, interval}
//     every --cluster-heartbeat (5s) on the config topic under key "instance:<id>" (compacted with the store's records,
//     which ConfigSync skips) and reads everyone's; a peer is live until 3 of its intervals (+1s)
//     pass without a heartbeat, or at once when its tombstone (written on a graceful stop) arrives.
//     Records read from the topic's history count as dead when their own timestamp is that old.
//     In RabbitMQ mode (InstanceConfig.AMQP) the directory is engine/amqp/instancedir instead:
//     the same announcements on the exchange "pushgate.instances", a leave message in place of
//     the tombstone.
//   - a Forwarder built by NewPeerForwarder, as the engine's ForwardPolling: a polling request
//     whose sid names another live instance is signed (Sign) and relayed over TCP to its
//     internal address (kept-alive connections, as for workers), the answer relayed back.
//   - session moves (migrate.go): a WebSocket upgrade for another instance's session moves the
//     session to the instance the upgrade landed on (Forwarder.Migrate, the engine's
//     transport.EngineConfig.Migrate). That instance accepts the WebSocket at once and asks the
//     owner, signed, for the session (GET /cluster/handover?sid=…&to=<its id> on the internal
//     port); the owner freezes it between two packets (transport.EngineServer.Export: nothing
//     more is delivered there, a pending GET gets a noop as in any upgrade), answers with the
//     transport.Handover — the Engine.IO session (sid, handshake query and headers), the
//     packets it had queued for the next GET, and per joined namespace the socket id, the
//     recovery pid, the principal the token proved, the stream, the criteria and the position
//     (the id of the last event queued, else where the subscription started) — and forgets it.
//     The new owner re-checks each socket against its own registry (stream, permission,
//     expiry; push.namespace Import), queues the handed-over packets, subscribes after the
//     position (its history, or the topic: the same Kafka positions), and completes the
//     2probe/3probe/5 upgrade itself: no event lost or repeated, no socket on two instances,
//     nothing relayed. The sid keeps its first owner's prefix: the old owner remembers where it
//     went for a minute and forwards a straggling polling request there, and the new owner's
//     Gate accepts the sessions it holds (and parks the requests for one being adopted). When
//     the move fails (owner gone, session not movable within 2s), the WebSocket is closed and
//     socket.io-client keeps polling its owner. Why move rather than relay: a relayed
//     WebSocket dies with either instance, so one instance's death used to reach the clients it
//     relayed for as well as its own (in the run, all 50 of 50); moved, it reaches
//     only the sockets it holds — about 1/N. (pushgate_cluster_proxied_total and
//     _connections, from the relaying design, stay exported and are always 0.) One gap is
//     left: a socket that subscribed before its instance had seen any event and was delivered
//     none has no position to hand over; the new owner then starts live, and an event published
//     during the move itself (about a millisecond) can be missed.
//   - the internal listener: a second netserver.Server whose route /socket.io/ is a Gate in
//     front of the Engine.IO server (/cluster/handover serves the session moves, and
//     /pushgate-internal/ answers the peers' operator questions — connections listing, delivery
//     receipts — behind the same signature check, so those routes cover every live instance:
//     peerops.go). The Gate checks the signature (HMAC-SHA256 keyed with
//     --cluster-secret over a timestamp, a nonce and the request bytes exactly as the client sent
//     them, constant-time, ±30s, each signature accepted once; Verify) before anything looks at a
//     session, answers 403 otherwise, and answers "Session ID unknown" for a sid that is not this
//     instance's (so a stale directory entry can never make two instances forward to each other).
//
// An unknown id, a dead one or an unreachable owner give the client Engine.IO's
// ordinary 400 {"code":1,"message":"Session ID unknown"}: socket.io-client opens a new session
// (through the balancer, on any live instance) and recovers the missed events there, since
// Kafka-mode event ids are instance-independent (RabbitMQ-mode ids are per instance: there the
// client continues live). The traffic between instances is authenticated,
// not encrypted (event payloads and tokens cross in clear): keep the internal listeners on a
// private network (TLS between the instances is not built yet). Not combined with --workers yet.
//
// # Link protocol
//
// A stream of frames over the Unix socket, each
//
//	length uint32 big-endian (type + payload) | type byte | payload
//
// with uvarint-length-prefixed strings and byte strings ("str", "bytes" below), at most MaxFrame
// bytes. Worker → parent:
//
//	'H' HELLO    uvarint index | str epoch | uvarint lastSeq   first frame; epoch/lastSeq of the last event seen ("" / 0 for none)
//	'R' READY    uvarint index                               after the first snapshot of a link
//
// Parent → worker:
//
//	'S' SNAPSHOT str epoch | bytes tenants JSON ([{"id","name","realm"}]) | bytes core doc | uvarint n | n × (str tenant URN | bytes doc)
//	'E' EVENT    uvarint seq | str id | str tenantId | str namespace | str name | str correlationId |
//	             varint unix seconds | uvarint nanoseconds | bytes event JSON
//	'P' PING     (empty)                                     every 5s; a worker reconnects after 20s of silence
//	'B' BACKLOG  same payload as EVENT                       to a new worker process (HELLO with epoch ""), after the
//	                                                         snapshot: each retained event, for its replay history only
//
// Example: PING is 00 00 00 01 50. The parent sends SNAPSHOT first on every link and again after
// every store change, in order with the events. seq counts events per parent epoch. Each event
// is encoded once and the same frame is queued to every worker; each worker has a bounded queue
// (16384 frames / 64 MiB) drained by its own writer goroutine, so a slow or hung worker never
// blocks the others: its link is dropped. The worker reconnects with HELLO(epoch, lastSeq) and,
// while the parent still holds the missed events (the last 4096), receives exactly those after
// the fresh snapshot: every event once, in order. Older gaps are logged and counted
// (Client.Gaps). Decoding copies what it keeps; Frame.Payload aliases the read buffer.
//
// # Metrics
//
// /metrics through the port is answered by the parent: its own metrics labelled
// worker="parent" and every linked worker's, fetched over run/worker-<i>.sock, labelled
// worker="<i>". A request for /metrics arriving over a worker's socket gets that worker's own
// metrics (unlabelled).
//
// # Caveats
//
//   - --listen needs a concrete address the parent can bind with SO_REUSEPORT; port 0 is resolved
//     by the parent once and passed to the workers, as is --public-url (default http://<listen>).
//   - A restarted worker's replay history (SSE Last-Event-ID, Socket.IO recovery) starts with the
//     parent's retained events (the last ResumeFrames, 4096 by default) rather than with the
//     --history-size its siblings may hold; those events count from their arrival for
//     --history-age.
//   - Unix socket paths are limited to ~100 bytes: keep --data-dir short.
//   - --pprof is served by worker 0 only.
//   - While a worker restarts (or drains), connections the kernel already queued on its closing
//     listener are reset unless the host sets net.ipv4.tcp_migrate_req=1 (Linux 5.14 or later,
//     `sysctl -w net.ipv4.tcp_migrate_req=1`), which moves them to another listener of the
//     SO_REUSEPORT group.
package cluster
