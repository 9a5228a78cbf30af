package engineio

import (
	"encoding/base64"
	"errors"
)

// PacketType is the Engine.IO packet type, the ASCII digit that starts a
// text packet.
type PacketType byte

// Engine.IO v4 packet types.
const (
	PacketOpen    PacketType = '0'
	PacketClose   PacketType = '1'
	PacketPing    PacketType = '2'
	PacketPong    PacketType = '3'
	PacketMessage PacketType = '4'
	PacketUpgrade PacketType = '5'
	PacketNoop    PacketType = '6'
)

// RecordSeparator joins packets in a polling payload.
const RecordSeparator = 0x1e

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t >= PacketOpen && t <= PacketNoop }

// String returns the reference name of the packet type ("open", "message", …).
func (t PacketType) String() string {
	switch t {
	case PacketOpen:
		return "open"
	case PacketClose:
		return "close"
	case PacketPing:
		return "ping"
	case PacketPong:
		return "pong"
	case PacketMessage:
		return "message"
	case PacketUpgrade:
		return "upgrade"
	case PacketNoop:
		return "noop"
	}
	return "unknown"
}

// Packet is one decoded Engine.IO packet.
type Packet struct {
	Type PacketType
	// Data is the payload after the type digit (empty when there is none).
	// For Binary packets it holds the raw bytes, already base64-decoded when
	// they came as "b…" text.
	Data []byte
	// Binary marks a message (Type is PacketMessage) carrying binary data.
	Binary bool
}

// Decoding errors. They support errors.Is.
var (
	ErrUnknownPacket   = errors.New("engineio: unknown packet type")
	ErrEmptyPacket     = errors.New("engineio: empty packet")
	ErrBadBase64       = errors.New("engineio: bad base64 in binary packet")
	ErrPayloadTooLarge = errors.New("engineio: payload too large")
)

// DecodePacket decodes one text packet: a WebSocket text frame or one
// polling record. "b<base64>" yields a binary message whose bytes are
// appended to scratch; Data then points into the returned newScratch.
// Otherwise Data aliases text and scratch is returned unchanged.
func DecodePacket(text []byte, scratch []byte) (p Packet, newScratch []byte, err error) {
	if len(text) == 0 {
		return Packet{}, scratch, ErrEmptyPacket
	}
	c := text[0]
	if c == 'b' {
		start := len(scratch)
		enc := base64.StdEncoding // lenient: client payload bytes, as the reference server reads them
		if (len(text)-1)%4 != 0 {
			enc = base64.RawStdEncoding // lenient: as above
		}
		out, err := enc.AppendDecode(scratch, text[1:])
		if err != nil {
			return Packet{}, scratch[:start], ErrBadBase64
		}
		return Packet{Type: PacketMessage, Data: out[start:len(out):len(out)], Binary: true}, out, nil
	}
	t := PacketType(c)
	if !t.Valid() {
		return Packet{}, scratch, ErrUnknownPacket
	}
	return Packet{Type: t, Data: text[1:]}, scratch, nil
}

// BinaryPacket wraps the payload of a WebSocket binary frame as a binary
// message packet (Data aliases b).
func BinaryPacket(b []byte) Packet {
	return Packet{Type: PacketMessage, Data: b, Binary: true}
}

// AppendPacket appends a text packet: the type digit then data ("4hello").
func AppendPacket(dst []byte, t PacketType, data []byte) []byte {
	dst = append(dst, byte(t))
	return append(dst, data...)
}

// AppendBinaryBase64 appends a binary message in its text form: "b" and the
// standard padded base64 of data (polling, or WebSocket with b64=1).
func AppendBinaryBase64(dst []byte, data []byte) []byte {
	dst = append(dst, 'b')
	return base64.StdEncoding.AppendEncode(dst, data)
}

// AppendPacketText appends p in its text form: AppendBinaryBase64 for binary
// packets, AppendPacket otherwise. DecodePacket reverses it.
func AppendPacketText(dst []byte, p Packet) []byte {
	if p.Binary {
		return AppendBinaryBase64(dst, p.Data)
	}
	return AppendPacket(dst, p.Type, p.Data)
}
