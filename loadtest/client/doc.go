// Package client holds the per-connection state machines of the load
// generator: Socket.IO v5 over Engine.IO v4 on a WebSocket (KindWS), the
// same after an HTTP long-polling start and a WebSocket upgrade
// (KindUpgrade), and Server-Sent Events (KindSSE).
//
// A Machine owns no socket, goroutine or timer: the event loop (package
// netloop) calls Begin when a TCP connection is established and Feed with
// every chunk it reads; both append the bytes to send to out. Feed may ask
// for a fresh TCP connection (Redial: the polling → WebSocket switch) or for
// the connection to be closed (Close). Times are Unix nanoseconds passed in
// by the caller, so tests drive the machines without a clock.
//
// Every machine answers Engine.IO pings ("2" → "3") and WebSocket pings,
// recognises the Socket.IO CONNECT reply and CONNECT_ERROR, and for each
// stream event extracts the publisher's stamp from the payload
// ("sentAt":<unix nanos>, "seq":<n>, "step":<i>, see Stamp). Each delivery
// goes to the Sink (latency histogram of the worker) and into the client's
// Track (which seqs arrived: lost, duplicate and out-of-order counts).
//
// Wire details follow protocol/engineio, protocol/socketio, protocol/wsframe
// and protocol/sse; this package only adds the client side of the HTTP/1.1
// exchanges (request lines, response heads, chunked bodies).
package client
