// Package fakesrv is a small, blocking, goroutine-per-connection imitation of
// the pushgate product contract for the load generator's tests: Engine.IO v4
// over WebSocket and long-polling with upgrade, Socket.IO CONNECT on one
// namespace, server pings, SSE (raw or chunked), and POST /event/v1/events
// which broadcasts the posted body to every subscriber. It is correct only
// for the well-behaved clients of this module; it is not a server.
package fakesrv
