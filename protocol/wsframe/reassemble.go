package wsframe

import "github.com/gobwas/ws"

// Reassembler joins the fragments of data messages (RFC 6455 §5.4). Feed it
// every complete, unmasked frame in order; control frames pass through. The
// zero value is ready to use, with no size cap.
type Reassembler struct {
	// MaxSize caps the total size of a message; a larger message is
	// ErrTooLarge (close with 1009). Zero or negative means no cap.
	MaxSize int64

	op     ws.OpCode
	active bool
	buf    []byte
}

// Push adds one frame. When a message is complete it returns done=true with
// its opcode (OpText, OpBinary, or the control opcode) and payload. The
// message aliases payload for unfragmented messages and control frames, and
// the Reassembler's buffer otherwise (valid until the next Push or Reset).
// ErrProtocol: a continuation frame without a started message, or a new data
// message while one is still open.
func (r *Reassembler) Push(h ws.Header, payload []byte) (op ws.OpCode, msg []byte, done bool, err error) {
	if h.OpCode.IsControl() {
		return h.OpCode, payload, true, nil
	}
	if !r.active {
		r.buf = r.buf[:0]
	}
	if h.OpCode == ws.OpContinuation {
		if !r.active {
			return 0, nil, false, ErrProtocol
		}
	} else {
		if r.active {
			return 0, nil, false, ErrProtocol
		}
		if r.MaxSize > 0 && int64(len(payload)) > r.MaxSize {
			return 0, nil, false, ErrTooLarge
		}
		if h.Fin {
			return h.OpCode, payload, true, nil
		}
		r.op, r.active = h.OpCode, true
	}
	if r.MaxSize > 0 && int64(len(r.buf))+int64(len(payload)) > r.MaxSize {
		r.Reset()
		return 0, nil, false, ErrTooLarge
	}
	r.buf = append(r.buf, payload...)
	if !h.Fin {
		return 0, nil, false, nil
	}
	r.active = false
	return r.op, r.buf, true, nil
}

// InMessage reports whether a fragmented message has been started and not
// finished.
func (r *Reassembler) InMessage() bool { return r.active }

// Reset drops a partial message and releases the buffer.
func (r *Reassembler) Reset() {
	r.active = false
	r.buf = nil
}
