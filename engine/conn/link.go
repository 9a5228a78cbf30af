package conn

import (
	"net/url"
)

// CloseReason says why a connection, session or subscription ended: one vocabulary for the
// whole server. It labels metrics and logs, decides what the client is told (contract.md
// "Errors and closes": the Told reasons go out in "pushgate:close" / SSE "event: close") and
// whether a Socket.IO session may be recovered (Recoverable).
type CloseReason string

const (
	ReasonClientClose    CloseReason = "client-close"    // the client closed (Engine.IO close, Socket.IO DISCONNECT)
	ReasonTransportClose CloseReason = "transport-close" // the connection went away
	ReasonPingTimeout    CloseReason = "ping-timeout"
	ReasonProtocolError  CloseReason = "protocol-error"
	ReasonSlowConsumer   CloseReason = "slow-consumer" // the queue passed its byte cap
	ReasonWriteTimeout   CloseReason = "write-timeout"
	ReasonHeaderTimeout  CloseReason = "header-timeout"
	ReasonIdleTimeout    CloseReason = "idle-timeout"
	ReasonConnectTimeout CloseReason = "connect-timeout"
	ReasonTooLarge       CloseReason = "message-too-large"
	ReasonServerClose    CloseReason = "server-close"
	ReasonUpgraded       CloseReason = "upgraded"
	ReasonHandedOff      CloseReason = "handed-off" // the connection moved to another worker process (Handoff)
	// ReasonNamespaceLeft: one Socket.IO namespace was left (client or server DISCONNECT packet)
	// while the session lives on.
	ReasonNamespaceLeft CloseReason = "namespace-left"

	// Told reasons: the server says why (engine/push) before it closes the transport.
	ReasonStreamDeleted     CloseReason = "stream-deleted"
	ReasonPermissionRevoked CloseReason = "permission-revoked"
	ReasonTokenExpired      CloseReason = "token-expired"
	ReasonShutdown          CloseReason = "shutdown"
	ReasonRateLimited       CloseReason = "rate-limited" // the client sent above its inbound allowance
	// ReasonDisconnectedByAdmin: an operator closed the subject's connections
	// (POST /push/v1/connections/disconnect).
	ReasonDisconnectedByAdmin CloseReason = "disconnected-by-admin"
	// ReasonTokenRevoked: the connection's token was revoked (POST /push/v1/revocations).
	ReasonTokenRevoked CloseReason = "token-revoked"
)

// Outcome is what became of one item delivered to one connection (hub.Sink.Deliver).
type Outcome uint8

const (
	// Queued: the item is queued to the connection.
	Queued Outcome = iota
	// DroppedSlow: the connection's queue passed its cap; it is closing as a slow consumer.
	DroppedSlow
	// DroppedClosed: the connection was closed already.
	DroppedClosed
)

// Told reports whether the client is told r before its transport closes (the server ends it on
// purpose and says why).
func (r CloseReason) Told() bool {
	switch r {
	case ReasonStreamDeleted, ReasonPermissionRevoked, ReasonTokenExpired, ReasonShutdown, ReasonRateLimited,
		ReasonDisconnectedByAdmin, ReasonTokenRevoked:
		return true
	}
	return false
}

// Recoverable reports whether a Socket.IO session that ended for r may be recovered within the
// recovery window (socket.io's connection state recovery keeps the session after transport
// losses and server-initiated closes, not after the client left on purpose).
func (r CloseReason) Recoverable() bool {
	return r != ReasonClientClose && r != ReasonNamespaceLeft
}

// Request is one parsed HTTP request handed to a transport. Body and every byte slice alias the
// connection's input buffer and are valid only during the call: copy what you keep.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Query    url.Values
	// Selected headers (the transports need no others).
	Origin        string
	Authorization string
	ContentType   string
	LastEventID   string
	ACRHeaders    string // Access-Control-Request-Headers (preflight)
	Upgrade       bool   // "Upgrade: websocket" with "Connection: upgrade"
	Body          []byte
	RemoteAddr    string
	RequestID     string
	// Raw is the whole request as received (head and body), for forwarding to another process.
	Raw []byte
}

// Header is one response header line.
type Header struct{ Name, Value string }

// Response is one complete HTTP/1.1 response written by Link.Respond.
type Response struct {
	Status      int
	ContentType string
	Header      []Header
	Body        [][]byte
	// Close asks the server to close the connection once the response is written.
	Close bool
	// Stream writes the head without a Content-Length and turns the connection into a one-way
	// stream (SSE): later bytes go out with Link.Send/Enqueue, input is discarded, and the
	// response ends when the connection closes.
	Stream bool
}

// Link is a client connection as the transports see it. The network server implements it; every
// method is safe for concurrent use and none blocks on the network (writes are queued and
// flushed with non-blocking writev; a client that cannot keep up is closed as a slow consumer).
type Link interface {
	// Respond writes a complete HTTP response to the request being served on this link.
	Respond(r *Response)
	// Send queues bufs and flushes. The slices must not be modified afterwards (they may be
	// shared with other links).
	Send(bufs ...[]byte) error
	// Enqueue queues b without flushing; the caller calls Flush once after a batch. It reports
	// false when the link is closed or over its byte cap (and then closes it).
	Enqueue(b []byte) bool
	// Flush writes what is queued.
	Flush()
	// Close closes the connection after trying to flush what is queued.
	Close(reason CloseReason)
	// SetCloseHandler registers fn to run once when the connection closes (for any reason);
	// nil clears it. Only one handler is kept.
	SetCloseHandler(fn func(reason CloseReason))
	// RemoteAddr is the peer address ("ip:port").
	RemoteAddr() string
}

// Handoff is implemented by links whose connection can move to another process of the same
// server (--workers): a WebSocket upgrade that reaches one worker for a session another worker
// owns is passed to the owner instead of refused.
type Handoff interface {
	// HandOff lets go of the connection, whose only traffic is the request being served, and
	// reports true; it reports false (and changes nothing) when the connection is not in that
	// state. Once this process no longer reads the socket, send is called with its descriptor
	// (the receiver gets its own copy); if send fails, fallback is written to the client instead.
	HandOff(send func(fd int) error, fallback *Response) bool
}

// WSHandler receives the messages of an upgraded WebSocket connection. Calls for one connection
// are serialised.
type WSHandler interface {
	// OnOpen runs right after the 101 response was queued.
	OnOpen(l Link)
	// OnMessage receives one complete (reassembled, unmasked) text or binary message. data is
	// valid only during the call.
	OnMessage(l Link, data []byte, binary bool)
	// OnClose runs once when the connection is gone.
	OnClose(l Link, reason CloseReason)
}

// HTTPHandler serves the requests of one path prefix on the event loop. To accept a WebSocket
// upgrade it returns a non-nil WSHandler (the server then writes the 101 response); otherwise it
// must answer with l.Respond (now, or later for a long-poll).
type HTTPHandler interface {
	ServeRequest(r *Request, l Link) WSHandler
}
