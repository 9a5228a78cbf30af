// Package sse writes and parses Server-Sent Events (the text/event-stream
// format of the WHATWG HTML standard, §9.2 "Server-sent events").
//
// # Wire format
//
// An event is a block of "field: value" lines ended by an empty line:
//
//	id: 42-7\n                 AppendEvent(dst, "42-7", "stream-event", []byte("{\"a\":1}\nline2"))
//	event: stream-event\n
//	data: {"a":1}\n
//	data: line2\n
//	\n
//
//	: heartbeat\n\n            AppendComment(dst, "heartbeat")
//	retry: 3000\n\n            AppendRetry(dst, 3*time.Second)
//
// Data is split at "\n", "\r\n" and a lone "\r", and every piece becomes its
// own "data:" line, so a client reassembles exactly the input with line
// breaks normalised to "\n"; data can never end an event early or inject
// fields (checked by FuzzAppendEventParse). Empty data still writes one
// "data: " line so the event is dispatched (with empty data).
//
// id and event values must not contain CR, LF or NUL (ValidID): AppendEvent
// returns ErrBadField for them rather than writing a stream a client would
// misread (a NUL in id makes browsers ignore the id).
//
// # Parser
//
// Parser is a small incremental parser for clients (tests, the load
// generator): Feed accepts arbitrary chunks (a CRLF may be split between
// two), strips a leading UTF-8 BOM, ignores comments and unknown fields and
// follows the standard's dispatch rules (last event id persists across
// events; an event without data lines is not dispatched). MaxEventBytes bounds
// its buffering.
//
// # Slice lifetimes
//
// Encoders append to dst and do not retain anything. Event.Data passed to
// the Feed callback is only valid during the callback.
package sse
