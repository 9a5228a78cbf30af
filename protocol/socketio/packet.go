package socketio

import (
	"errors"
	"unicode/utf8"
)

// PacketType is the Socket.IO packet type (the first character of a packet,
// as a number).
type PacketType byte

// Socket.IO v5 packet types.
const (
	Connect      PacketType = 0
	Disconnect   PacketType = 1
	Event        PacketType = 2
	Ack          PacketType = 3
	ConnectError PacketType = 4
	BinaryEvent  PacketType = 5
	BinaryAck    PacketType = 6
)

// String returns the reference name ("CONNECT", "EVENT", …).
func (t PacketType) String() string {
	switch t {
	case Connect:
		return "CONNECT"
	case Disconnect:
		return "DISCONNECT"
	case Event:
		return "EVENT"
	case Ack:
		return "ACK"
	case ConnectError:
		return "CONNECT_ERROR"
	case BinaryEvent:
		return "BINARY_EVENT"
	case BinaryAck:
		return "BINARY_ACK"
	}
	return "UNKNOWN"
}

// IsBinary reports whether packets of type t announce attachments.
func (t PacketType) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// NoAck is Packet.AckID when the packet carries no ack id.
const NoAck int64 = -1

// maxAckDigits bounds decoded ack ids: 18 decimal digits always fit an int64.
const maxAckDigits = 18

// DefaultMaxAttachments is the attachment limit of socket.io-parser ≥ 4.2.6.
const DefaultMaxAttachments = 10

// Packet is one Socket.IO packet, without the Engine.IO "4" prefix.
type Packet struct {
	Type PacketType
	// Namespace starts with "/"; "/" when absent. Encoders treat "" as "/".
	Namespace string
	// AckID is NoAck when absent.
	AckID int64
	// Attachments is the number of binary messages that follow a
	// BinaryEvent/BinaryAck header; 0 for the other types.
	Attachments int
	// Data is the raw JSON payload, nil when absent. Decoded packets alias
	// the input.
	Data []byte
}

// Decoding errors, with package-prefixed texts; they support errors.Is.
var (
	ErrUnknownType        = errors.New("socketio: unknown packet type")
	ErrBadAttachments     = errors.New("socketio: illegal attachments")
	ErrTooManyAttachments = errors.New("socketio: too many attachments")
	ErrBadAckID           = errors.New("socketio: bad ack id")
	ErrBadPayload         = errors.New("socketio: invalid payload")
	ErrBadNamespace       = errors.New("socketio: bad namespace")
)

// Decode parses and validates one packet (see the package documentation for
// the rules). maxAttachments ≤ 0 means DefaultMaxAttachments. Data aliases
// b; Namespace is a copy (no allocation for "/").
func Decode(b []byte, maxAttachments int) (Packet, error) {
	if maxAttachments <= 0 {
		maxAttachments = DefaultMaxAttachments
	}
	p := Packet{Namespace: "/", AckID: NoAck}
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return Packet{}, ErrUnknownType
	}
	p.Type = PacketType(b[0] - '0')
	i := 1
	if p.Type.IsBinary() {
		j := i
		n := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			if n <= maxAttachments { // stop growing once over the limit
				n = n*10 + int(b[j]-'0')
			}
			j++
		}
		if j == i || j >= len(b) || b[j] != '-' {
			return Packet{}, ErrBadAttachments
		}
		if n > maxAttachments {
			return Packet{}, ErrTooManyAttachments
		}
		p.Attachments = n
		i = j + 1
	}
	if i < len(b) && b[i] == '/' {
		j := i
		for j < len(b) && b[j] != ',' {
			j++
		}
		nsp := b[i:j]
		if !validNamespace(nsp) {
			return Packet{}, ErrBadNamespace
		}
		if len(nsp) > 1 {
			p.Namespace = string(nsp)
		}
		i = j
		if j < len(b) {
			i++ // the comma
		}
	}
	if j := digits(b, i); j > i {
		if j-i > maxAckDigits {
			return Packet{}, ErrBadAckID
		}
		var id int64
		for _, c := range b[i:j] {
			id = id*10 + int64(c-'0')
		}
		p.AckID = id
		i = j
	}
	if i < len(b) {
		p.Data = b[i:]
	}
	if err := checkPayload(p); err != nil {
		return Packet{}, err
	}
	return p, nil
}

// validNamespace: valid UTF-8 without control characters.
func validNamespace(nsp []byte) bool {
	for _, c := range nsp {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(nsp)
}

// reservedEvents may not be sent by a client (socket.io RESERVED_EVENTS).
var reservedEvents = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

func checkPayload(p Packet) error {
	data := p.Data
	if data == nil {
		switch p.Type {
		case Connect, Disconnect:
			return nil
		}
		return ErrBadPayload
	}
	if p.Type == Disconnect {
		return ErrBadPayload
	}
	at := skipSpace(data, 0)
	if at == len(data) {
		return ErrBadPayload
	}
	if !startsJSON(data[at]) {
		// The bytes between namespace and payload are neither digits nor
		// JSON, e.g. "2abc[…]".
		return ErrBadAckID
	}
	att := -1
	if p.Type.IsBinary() {
		att = p.Attachments
	}
	k, ok := validJSON(data, att)
	if k == kindInvalid {
		return ErrBadPayload
	}
	if !ok {
		return ErrBadAttachments
	}
	switch p.Type {
	case Connect:
		if k == kindObject {
			return nil
		}
	case ConnectError:
		if k == kindObject || k == kindString {
			return nil
		}
	case Ack, BinaryAck:
		if k == kindArray {
			return nil
		}
	case Event, BinaryEvent:
		if k == kindArray && validEventName(data) {
			return nil
		}
	}
	return ErrBadPayload
}

func startsJSON(c byte) bool {
	switch c {
	case '{', '[', '"', '-', 't', 'f', 'n', ' ', '\t', '\n', '\r':
		return true
	}
	return c >= '0' && c <= '9'
}

// validEventName checks the first element of the valid JSON array data: a
// number, or a string that is not reserved.
func validEventName(data []byte) bool {
	raw, k, _ := firstElement(data)
	switch k {
	case kindNumber:
		return true
	case kindString:
		for _, r := range reservedEvents {
			if stringEquals(raw, r) {
				return false
			}
		}
		return true
	}
	return false
}

// firstElement returns the first element of the valid JSON array data and
// the index after it.
func firstElement(data []byte) ([]byte, kind, int) {
	s := scanner{data: data, attachments: -1}
	i := skipSpace(data, skipSpace(data, 0)+1)
	end, k := s.value(i, 1)
	if end < 0 {
		return nil, kindInvalid, 0
	}
	return data[i:end], k, end
}
