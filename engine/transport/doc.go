// Package transport implements the server side of Engine.IO v4 (HTTP long-polling, WebSocket,
// the polling→WebSocket upgrade, heartbeats) and Socket.IO v5 (namespaces, events, acks, binary
// attachments) on top of the byte codecs in protocol/. It owns sessions and their timers, not
// sockets: connections reach it through the Link interface, which engine/netserver implements.
//
// # Session lifecycle
//
//	handshake (GET without sid, or WebSocket without sid) → open packet, heartbeat timer starts
//	polling: one GET and one POST at a time; a pending GET is answered when packets are queued
//	upgrade: WS with sid → "2probe"/"3probe" → every GET answered "6" → "5" → WebSocket
//	close: client close packet, transport gone, ping timeout, protocol error, or server Close;
//	       afterwards every request with the sid gets 400 {"code":1,"message":"Session ID unknown"}
//
// # Fan-out
//
// Prepare encodes a packet once as a WebSocket frame and a polling record; Session.Deliver
// queues those shared bytes without copying and returns the link to flush, so a publisher can
// queue one event to many sessions and flush each connection once.
//
// # Locking
//
// Session.mu guards a session's state and is held while writing to its links; Link methods never
// block on the network, so this is safe. Handlers (SessionHandler, Namespace) are never called
// with Session.mu held; OnClose runs on its own goroutine. Lock order: Session.mu → the
// EngineServer's sid-index locks and link internals. client.mu, Socket.mu and SocketServer.mu
// are leaves, never held together with Session.mu. See LOCKING.md.
package transport
