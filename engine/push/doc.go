// Package push holds the push-service semantics on top of the transports: which tenant a
// connection addresses, which token it presents, which stream it may subscribe to, and how the
// subscription lives and ends — for Socket.IO namespaces (socketio.go) and Server-Sent Events
// (sse.go). It follows the ADSP push-service (shared/notes/adsp-push-service.md) with the fixes
// and decisions of contract.md: invalid tokens are rejected rather than downgraded to anonymous,
// SSE errors are answered before streaming, tenants may be named by slug, name, id or URN, and
// server-initiated ends say why ("pushgate:close" / "event: close") before closing the transport.
package push
