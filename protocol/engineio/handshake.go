package engineio

import (
	"strconv"
	"time"

	"github.com/pushgate/pushgate/protocol/jsontext"
)

// Handshake holds the values of the open packet.
type Handshake struct {
	SID          string
	Upgrades     []string // ["websocket"] for a polling session, empty for WebSocket
	PingInterval time.Duration
	PingTimeout  time.Duration
	MaxPayload   int64
}

// AppendOpen appends the open packet with the keys in the reference order:
//
//	0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//
// Durations are written in whole milliseconds; Upgrades nil is written [].
func AppendOpen(dst []byte, h Handshake) []byte {
	dst = append(dst, `0{"sid":`...)
	dst = appendJSONString(dst, h.SID)
	dst = append(dst, `,"upgrades":[`...)
	for i, u := range h.Upgrades {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, u)
	}
	dst = append(dst, `],"pingInterval":`...)
	dst = strconv.AppendInt(dst, h.PingInterval.Milliseconds(), 10)
	dst = append(dst, `,"pingTimeout":`...)
	dst = strconv.AppendInt(dst, h.PingTimeout.Milliseconds(), 10)
	dst = append(dst, `,"maxPayload":`...)
	dst = strconv.AppendInt(dst, h.MaxPayload, 10)
	return append(dst, '}')
}

// ErrorCode is the code of the reference HTTP error bodies.
type ErrorCode int

// Reference error codes (engine.io 6.6.x).
const (
	ErrTransportUnknown           ErrorCode = 0
	ErrSessionIDUnknown           ErrorCode = 1
	ErrBadHandshakeMethod         ErrorCode = 2
	ErrBadRequest                 ErrorCode = 3
	ErrForbidden                  ErrorCode = 4
	ErrUnsupportedProtocolVersion ErrorCode = 5
)

// Message returns the reference message text of the code.
func (c ErrorCode) Message() string {
	switch c {
	case ErrTransportUnknown:
		return "Transport unknown"
	case ErrSessionIDUnknown:
		return "Session ID unknown"
	case ErrBadHandshakeMethod:
		return "Bad handshake method"
	case ErrBadRequest:
		return "Bad request"
	case ErrForbidden:
		return "Forbidden"
	case ErrUnsupportedProtocolVersion:
		return "Unsupported protocol version"
	}
	return "Unknown error"
}

// HTTPStatus returns the HTTP status of the reference answer: 403 for
// ErrForbidden, 400 for every other code.
func (c ErrorCode) HTTPStatus() int {
	if c == ErrForbidden {
		return 403
	}
	return 400
}

// AppendError appends the JSON error body {"code":1,"message":"Session ID unknown"}.
func AppendError(dst []byte, c ErrorCode) []byte {
	return AppendErrorMessage(dst, c, c.Message())
}

// AppendErrorMessage is AppendError with a custom message (the reference lets
// the application's allowRequest replace "Forbidden"). msg is JSON-escaped.
func AppendErrorMessage(dst []byte, c ErrorCode, msg string) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c), 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, '}')
}

func appendJSONString(dst []byte, s string) []byte { return jsontext.AppendString(dst, s) }
