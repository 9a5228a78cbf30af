package wsframe

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Errors; they support errors.Is.
var (
	ErrShort    = errors.New("wsframe: need more bytes")
	ErrProtocol = errors.New("wsframe: protocol error")
	ErrTooLarge = errors.New("wsframe: frame too large")
)

// MaxHeaderSize is the largest header: 2 + 8 length bytes + 4 mask bytes.
const MaxHeaderSize = 14

// MaxControlPayload is the largest control frame payload (RFC 6455 §5.5).
const MaxControlPayload = 125

// ParseHeader parses a frame header from the start of b; n is the header
// length. It returns ErrShort when b holds only part of the header,
// ErrProtocol for the violations listed in the package documentation and
// ErrTooLarge when maxPayload > 0 and the payload length exceeds it (h and n
// are then filled in). requireMask is true on the server side.
func ParseHeader(b []byte, requireMask bool, maxPayload int64) (h ws.Header, n int, err error) {
	if len(b) < 2 {
		return ws.Header{}, 0, ErrShort
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] >> 4) & 0x7
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	l7 := b[1] & 0x7f
	switch {
	case h.Rsv != 0, h.OpCode.IsReserved():
		return ws.Header{}, 0, ErrProtocol
	case h.OpCode.IsControl() && (!h.Fin || l7 > MaxControlPayload):
		return ws.Header{}, 0, ErrProtocol
	case requireMask && !h.Masked:
		return ws.Header{}, 0, ErrProtocol
	}
	n = 2
	switch l7 {
	case 126:
		if len(b) < 4 {
			return ws.Header{}, 0, ErrShort
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return ws.Header{}, 0, ErrShort
		}
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return ws.Header{}, 0, ErrProtocol
		}
		h.Length = int64(u)
		n = 10
	default:
		h.Length = int64(l7)
	}
	if h.Masked {
		if len(b) < n+4 {
			return ws.Header{}, 0, ErrShort
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	if maxPayload > 0 && h.Length > maxPayload {
		return h, n, ErrTooLarge
	}
	return h, n, nil
}

// Unmask unmasks (or masks) payload in place with ws.Cipher.
func Unmask(payload []byte, mask [4]byte) { ws.Cipher(payload, mask, 0) }

// UnmaskAt is Unmask for a chunk that starts offset bytes into the frame
// payload, for payloads that arrive in pieces.
func UnmaskAt(payload []byte, mask [4]byte, offset int64) {
	ws.Cipher(payload, mask, int(offset%4))
}

// AppendHeader appends the header h: unmasked unless h.Masked. h.Length must
// be ≥ 0.
func AppendHeader(dst []byte, h ws.Header) []byte {
	b0 := byte(h.OpCode&0x0f) | (h.Rsv&0x7)<<4
	if h.Fin {
		b0 |= 0x80
	}
	var m byte
	if h.Masked {
		m = 0x80
	}
	switch {
	case h.Length < 126:
		dst = append(dst, b0, m|byte(h.Length))
	case h.Length <= 0xffff:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends a final, unmasked frame (server to client).
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	dst = AppendHeader(dst, ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))})
	return append(dst, payload...)
}

// AppendMaskedFrame appends a final frame masked with mask (client to
// server); payload itself is not modified.
func AppendMaskedFrame(dst []byte, op ws.OpCode, payload []byte, mask [4]byte) []byte {
	dst = AppendHeader(dst, ws.Header{Fin: true, OpCode: op, Masked: true, Mask: mask, Length: int64(len(payload))})
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}

// AppendCloseBody appends a close frame payload: the 2-byte code and the
// reason, cut to 123 bytes at a UTF-8 boundary. Code 0 gives an empty body
// (no status).
func AppendCloseBody(dst []byte, code ws.StatusCode, reason string) []byte {
	if code == 0 {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	if len(reason) > MaxControlPayload-2 {
		reason = reason[:MaxControlPayload-2]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	return append(dst, reason...)
}

// AppendClose appends an unmasked close frame with code and reason (see
// AppendCloseBody).
func AppendClose(dst []byte, code ws.StatusCode, reason string) []byte {
	n := 0
	if code != 0 {
		n = 2 + min(len(reason), MaxControlPayload-2)
	}
	hdr := len(dst)
	dst = AppendHeader(dst, ws.Header{Fin: true, OpCode: ws.OpClose, Length: int64(n)})
	start := len(dst)
	dst = AppendCloseBody(dst, code, reason)
	dst[hdr+1] = byte(len(dst) - start) // the reason may have been cut shorter
	return dst
}

// ParseClose parses a close frame payload (unmasked). An empty payload is
// ws.StatusNoStatusRcvd. A 1-byte payload, a code that may not be sent on
// the wire, or a reason that is not UTF-8 is ErrProtocol. reason aliases
// payload.
func ParseClose(payload []byte) (code ws.StatusCode, reason []byte, err error) {
	switch {
	case len(payload) == 0:
		return ws.StatusNoStatusRcvd, nil, nil
	case len(payload) == 1:
		return 0, nil, ErrProtocol
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(payload))
	reason = payload[2:]
	if !ValidCloseCode(code) || !utf8.Valid(reason) {
		return 0, nil, ErrProtocol
	}
	return code, reason, nil
}

// ValidCloseCode reports whether code may appear in a close frame: 1000–1003,
// 1007–1014 (RFC 6455 and the IANA registry) or 3000–4999.
func ValidCloseCode(code ws.StatusCode) bool {
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AppendAccept appends the Sec-WebSocket-Accept value for the client's
// Sec-WebSocket-Key (RFC 6455 §4.2.2).
func AppendAccept(dst []byte, key []byte) []byte {
	var buf [64]byte // a 24-byte key + the GUID fit; longer keys spill to the heap
	sum := sha1.Sum(append(append(buf[:0], key...), acceptGUID...))
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// ParseFrame parses one whole frame from the start of b: ParseHeader, then
// the payload, unmasked in place when masked (so b is modified once a frame
// is complete). n is the frame length. ErrShort until all of it is in b.
// payload aliases b.
func ParseFrame(b []byte, requireMask bool, maxPayload int64) (h ws.Header, payload []byte, n int, err error) {
	h, hn, err := ParseHeader(b, requireMask, maxPayload)
	if err != nil {
		return h, nil, 0, err
	}
	if int64(len(b)-hn) < h.Length {
		return ws.Header{}, nil, 0, ErrShort
	}
	n = hn + int(h.Length)
	payload = b[hn:n:n]
	if h.Masked {
		Unmask(payload, h.Mask)
	}
	return h, payload, n, nil
}
