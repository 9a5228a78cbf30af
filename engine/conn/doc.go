// Package conn is the contract between the network server and the protocols above it: a client
// connection as a Link (queue bytes without blocking, respond, close with a CloseReason), one
// parsed HTTP Request and its Response, the handlers a path prefix mounts (HTTPHandler, and
// WSHandler for an upgraded WebSocket), the Handoff of a connection to another process, and the
// CORS policy of HTTP answers.
//
// engine/netserver implements Link; engine/transport (Engine.IO and Socket.IO) and engine/push
// (SSE and the push semantics) consume it. Keeping these types out of transport lets SSE and
// Socket.IO sit side by side on the same contract, and lets transport mean Engine.IO/Socket.IO
// only.
//
// # Close reasons
//
// Every connection, session and subscription end records one CloseReason (link.go lists them).
// The "told" ones are also sent to the client before its transport closes ("pushgate:close" /
// SSE "event: close", contract.md "Errors and closes"); the others label metrics and logs only.
package conn
