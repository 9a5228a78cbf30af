// Package netserver owns pushgate's listening socket and every client connection. It is the only
// package that touches cloudwego/netpoll.
//
// # Connection lifecycle
//
//	state        entered when                          leaves when
//	-----        ------------                          -----------
//	HTTP         accepted                              a transport accepts a WebSocket upgrade (→ WS),
//	                                                   an SSE response starts (→ Stream), or close
//	WS           101 written by gobwas/ws             close frame, protocol error, peer gone, Close
//	Stream       SSE head written                      peer gone, Close
//	closed       any close                             —
//
// No goroutine belongs to an idle connection: netpoll calls onReadable when bytes arrive, on a
// worker of taskRunner (runner.go: a worker waits a while for the next callback, so its grown
// stack is reused), and onReadable consumes everything buffered (netpoll is level-triggered). Partial input
// (an incomplete head, body or frame) is copied to a per-connection buffer bounded by
// Config.MaxHeaderBytes, Config.MaxBodyBytes and Config.MaxMessageBytes. netpoll's own input
// buffer is shrunk from 8 KiB to 512 B per connection.
//
// HTTP heads are parsed by fasthttp (only once the whole head is in memory, so parsing never
// blocks); WebSocket upgrades and frames use gobwas/ws and protocol/wsframe. Routes: Mounts
// (Socket.IO, the conformance Engine.IO echo, SSE) are served on the event loop by
// conn.HTTPHandler; everything else goes to a fasthttp.RequestHandler.
//
// # Writes
//
// Each connection has a bounded queue of references to immutable slices (writer.go). Send
// queues and flushes; Enqueue queues only, so the hub can queue one event to thousands of
// connections and flush each once (one writev per connection per batch). Writes are
// non-blocking writev calls on the socket; a socket that would block is parked on a separate
// epoll instance (EPOLLOUT, one-shot) and resumed when writable. A connection whose queue passes
// Config.MaxPendingBytes, or that stays unwritable for Config.WriteTimeout, is closed as a slow
// consumer: the publisher never blocks.
package netserver
