// Package socketio encodes and decodes Socket.IO protocol v5 packets
// (socket.io 3.x/4.x, socket.io-parser 4.x) as carried inside an Engine.IO
// message, i.e. without the leading Engine.IO "4".
//
// The package is pure (no I/O, goroutines or global mutable state) and
// imports only the standard library. Encoders append to dst and do not
// allocate when dst has capacity.
//
// # Wire format
//
//	<type>[<attachments>-][<nsp>,][<ackId>][<JSON>]
//
//	0                                   CONNECT to "/" without auth
//	0/admin,{"token":"123"}             CONNECT to "/admin" with auth
//	0{"sid":"wZX3oN0bSVIhsaknAAAI"}     CONNECT reply (AppendConnect)
//	1/admin,                            DISCONNECT from "/admin" (AppendDisconnect)
//	2["hello","world"]                  EVENT (AppendEvent)
//	2/admin,7["ask",1]                  EVENT with ack id 7 (AppendEventAck)
//	3/admin,7[{"ok":true}]              ACK 7 (AppendAck)
//	4/admin,{"message":"Not authorized"} CONNECT_ERROR (AppendConnectError)
//	51-["up",{"_placeholder":true,"num":0}]   BINARY_EVENT, 1 attachment
//	61-15[{"_placeholder":true,"num":0}]      BINARY_ACK 15, 1 attachment
//
// The namespace is written only when it is not "/". The decoder also ends a
// namespace at the end of the input ("0/random" is a CONNECT to "/random"),
// as the official test suite requires. The ack id is the run of decimal
// digits after the namespace; the rest is the JSON payload.
//
// Binary attachments are not handled here: Packet.Attachments counts the
// Engine.IO binary messages that follow the header packet, and the
// placeholders {"_placeholder":true,"num":N} stay unchanged in Data.
//
// # Validity rules (socket.io-parser)
//
// Decode rejects what the reference decoder rejects, after which the
// reference closes the whole Engine.IO connection:
//
//   - a first byte other than '0'…'6' (ErrUnknownType), e.g. "abc";
//   - for types 5/6, an attachment count that is not digits followed by "-"
//     (ErrBadAttachments), more than maxAttachments (ErrTooManyAttachments,
//     default DefaultMaxAttachments = 10), or a placeholder whose num is not an
//     integer in 0..Attachments-1 (ErrBadAttachments);
//   - a namespace with control characters or invalid UTF-8 (ErrBadNamespace);
//   - an ack id of more than 18 digits, or bytes between namespace and payload
//     that are neither digits nor the start of a JSON value, e.g.
//     "2abc[\"x\"]" (ErrBadAckID);
//   - invalid JSON, or a payload of the wrong shape (ErrBadPayload): CONNECT
//     an object or absent; DISCONNECT absent; EVENT/BINARY_EVENT a non-empty
//     array whose first element is a number or a string other than the
//     reserved connect, connect_error, disconnect, disconnecting, newListener,
//     removeListener; ACK/BINARY_ACK an array; CONNECT_ERROR an object or a
//     string. "2{}" is invalid. Unlike the reference, EVENT, ACK and
//     CONNECT_ERROR without a payload are rejected too.
//
// The decoder is stricter than JavaScript's loose number comparisons (only
// ASCII digits are accepted in counts and ids). JSON is checked by a small
// allocation-free validator that accepts exactly what encoding/json.Valid
// accepts (nesting limit 10000).
//
// # Slice lifetimes
//
// Packet.Data and the args returned by SplitEvent and ArrayElements alias the
// input and are valid as long as it is. Namespace and event names are copied
// into strings ("/" costs nothing).
package socketio
