package client

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gobwas/ws"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

// wsConn is the client side of one WebSocket: frame parsing with a carry
// buffer, message reassembly, masked writes.
type wsConn struct {
	acc   []byte
	reasm wsframe.Reassembler
	mask  [4]byte
	key   string
	max   int64
}

func (w *wsConn) init(id uint64, max int64) {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:], id*0x9E3779B97F4A7C15+1)
	binary.LittleEndian.PutUint64(raw[8:], id^0xD1B54A32D192ED03)
	w.key = base64.StdEncoding.EncodeToString(raw[:])
	binary.LittleEndian.PutUint32(w.mask[:], uint32(id*2654435761)|1)
	w.max = max
	w.reasm.MaxSize = max
}

// appendUpgrade appends the WebSocket upgrade request for target.
func (w *wsConn) appendUpgrade(out []byte, cfg *Config, target string) []byte {
	return appendGet(out, cfg, target, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "+w.key+"\r\n")
}

// checkAccept verifies the 101 response head.
func (w *wsConn) checkAccept(h head) error {
	if h.status != 101 {
		return fmt.Errorf("%w: websocket upgrade answered %d", ErrRefused, h.status)
	}
	sum := sha1.Sum([]byte(w.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if h.accept != base64.StdEncoding.EncodeToString(sum[:]) {
		return fmt.Errorf("%w: bad Sec-WebSocket-Accept %q", ErrProtocol, h.accept)
	}
	return nil
}

// appendText appends a masked text frame.
func (w *wsConn) appendText(out []byte, payload string) []byte {
	return wsframe.AppendMaskedFrame(out, ws.OpText, []byte(payload), w.mask)
}

var errWSClose = errors.New("websocket close frame")

// feed parses every complete frame in (plus carried bytes) and calls fn for
// each complete data message; it answers pings itself.
func (w *wsConn) feed(in []byte, out []byte, fn func(msg []byte, out []byte) ([]byte, error)) ([]byte, error) {
	buf := in
	if len(w.acc) > 0 {
		w.acc = append(w.acc, in...)
		buf = w.acc
	}
	for len(buf) > 0 {
		h, payload, n, err := wsframe.ParseFrame(buf, false, w.max)
		if errors.Is(err, wsframe.ErrShort) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		buf = buf[n:]
		op, msg, done, err := w.reasm.Push(h, payload)
		if err != nil {
			return out, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		if !done {
			continue
		}
		switch op {
		case ws.OpPing:
			out = wsframe.AppendMaskedFrame(out, ws.OpPong, msg, w.mask)
		case ws.OpPong:
		case ws.OpClose:
			return out, errWSClose
		case ws.OpText, ws.OpBinary:
			if out, err = fn(msg, out); err != nil {
				return out, err
			}
		}
	}
	// Keep the unparsed tail (copy handles the overlap when buf is in acc).
	switch {
	case len(buf) == 0:
		if cap(w.acc) > 64<<10 {
			w.acc = nil
		} else {
			w.acc = w.acc[:0]
		}
	case len(w.acc) > 0:
		w.acc = w.acc[:copy(w.acc, buf)]
	default:
		w.acc = append(w.acc[:0], buf...)
	}
	return out, nil
}
