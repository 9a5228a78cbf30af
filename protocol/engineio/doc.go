// Package engineio encodes and decodes Engine.IO protocol v4 packets, the
// transport layer under Socket.IO v5 (engine.io 6.x, engine.io-parser 5.x).
//
// The package is pure: byte slices in, byte slices out, no I/O, no
// goroutines, no global mutable state. Encoders follow the strconv style
// AppendX(dst, …) []byte and never allocate when dst has enough capacity.
//
// # Packets
//
// A text packet is one ASCII type digit followed by an optional payload:
//
//	0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//	                   open (server → client), see AppendOpen
//	1                  close
//	2   2probe         ping (server → client in v4; "2probe" is the client's upgrade probe)
//	3   3probe         pong (client → server; "3probe" answers the probe)
//	4hello             message carrying "hello" (Socket.IO packets travel here: 42["ev",1])
//	5                  upgrade (client, on the new WebSocket)
//	6                  noop (server, flushes a pending poll)
//	bAQIDBA==          binary message 01 02 03 04 as "b" + standard padded base64
//
// On a WebSocket every packet is its own frame; a binary message is a binary
// frame holding the raw bytes (no type digit, not handled here) and a "b…"
// text frame is also accepted as binary. On HTTP long-polling packets are
// joined with the record separator 0x1e (RecordSeparator) and binary
// messages are always "b" + base64:
//
//	4hello 1e bAQIDBA== 1e 2
//
// # Handshake and errors
//
// AppendOpen writes the open packet with the keys in the reference order.
// AppendError writes the JSON body of the reference HTTP error answers,
// e.g. {"code":1,"message":"Session ID unknown"}; ErrorCode.HTTPStatus gives
// 403 for ErrForbidden and 400 otherwise.
//
// # Limits
//
// Anything whose first byte is not '0'…'6' or 'b' is ErrUnknownPacket, an
// empty packet (or an empty polling record, e.g. "4a\x1e\x1e4b") is
// ErrEmptyPacket, and base64 that does not decode is ErrBadBase64 (padded
// standard alphabet; unpadded input whose length is not a multiple of 4 is
// also accepted, as the reference's Buffer.from is lenient). The package
// enforces no size limit itself: the transport must refuse bodies and frames
// larger than Handshake.MaxPayload before decoding (HTTP 413 / WebSocket
// close 1009); ErrPayloadTooLarge is provided for reporting that.
//
// # Slice lifetimes
//
// Decoded packets alias their input: Packet.Data points into text (or body)
// for text packets and into scratch for binary packets decoded from base64.
// They stay valid until the caller overwrites or reuses those buffers.
// DecodePayload appends every binary packet of a body to the same scratch;
// when it grows, earlier Data slices keep pointing at the old array, which
// stays valid (Go never frees referenced memory), so all packets passed to fn
// remain usable until the caller reuses text and scratch.
package engineio
