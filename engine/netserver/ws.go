package netserver

import (
	"errors"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

// processWS consumes one complete frame and returns its length, or 0 while it is incomplete.
// Fragments are reassembled into c.msg (bounded by MaxMessageBytes).
func (c *Conn) processWS(data []byte) int {
	limit := int64(c.srv.cfg.MaxMessageBytes)
	h, hn, err := wsframe.ParseHeader(data, true, limit)
	switch {
	case errors.Is(err, wsframe.ErrShort):
		return 0
	case errors.Is(err, wsframe.ErrTooLarge):
		c.wsFail(ws.StatusMessageTooBig, "message too large", conn.ReasonTooLarge)
		return len(data)
	case err != nil:
		c.wsFail(ws.StatusProtocolError, "protocol error", conn.ReasonProtocolError)
		return len(data)
	}
	total := hn + int(h.Length)
	if len(data) < total {
		return 0
	}
	payload := data[hn:total]
	if h.Masked {
		wsframe.Unmask(payload, h.Mask)
	}
	switch h.OpCode {
	case ws.OpPing:
		_ = c.Send(wsframe.AppendFrame(nil, ws.OpPong, payload))
	case ws.OpPong:
	case ws.OpClose:
		_ = c.Send(wsframe.AppendFrame(nil, ws.OpClose, payload))
		c.mode = modeClosed
		c.Close(conn.ReasonClientClose)
		return len(data)
	case ws.OpText, ws.OpBinary:
		if c.inFrag {
			c.wsFail(ws.StatusProtocolError, "expected continuation frame", conn.ReasonProtocolError)
			return len(data)
		}
		if !h.Fin {
			c.msg = append(c.msg[:0], payload...)
			c.msgOp, c.inFrag = h.OpCode, true
			return total
		}
		c.deliverWS(payload, h.OpCode == ws.OpBinary)
	case ws.OpContinuation:
		if !c.inFrag {
			c.wsFail(ws.StatusProtocolError, "unexpected continuation frame", conn.ReasonProtocolError)
			return len(data)
		}
		if int64(len(c.msg)+len(payload)) > limit {
			c.wsFail(ws.StatusMessageTooBig, "message too large", conn.ReasonTooLarge)
			return len(data)
		}
		c.msg = append(c.msg, payload...)
		if h.Fin {
			c.inFrag = false
			c.deliverWS(c.msg, c.msgOp == ws.OpBinary)
			c.msg = nil
		}
	default:
		c.wsFail(ws.StatusProtocolError, "unknown opcode", conn.ReasonProtocolError)
		return len(data)
	}
	if c.mode == modeClosed {
		return len(data)
	}
	return total
}

// deliverWS hands a complete message to the handler; a text message that is not UTF-8 closes
// the connection with 1007 (RFC 6455 §8.1, as the ws library of Node does).
func (c *Conn) deliverWS(msg []byte, binary bool) {
	if !binary && !utf8.Valid(msg) {
		c.wsFail(ws.StatusInvalidFramePayloadData, "invalid UTF-8 in a text message", conn.ReasonProtocolError)
		return
	}
	c.ws.OnMessage(c, msg, binary)
}

// wsFail sends a close frame with code and closes the connection.
func (c *Conn) wsFail(code ws.StatusCode, reason string, cr conn.CloseReason) {
	_ = c.Send(wsframe.AppendClose(nil, code, reason))
	c.mode = modeClosed
	c.Close(cr)
}

// CloseWS sends a WebSocket close frame (1000; 1008 "rate-limited" for a flooding client) and
// closes the connection: how the server ends a WebSocket transport.
func (c *Conn) CloseWS(reason conn.CloseReason) {
	code, text := ws.StatusNormalClosure, ""
	if reason == conn.ReasonRateLimited {
		code, text = ws.StatusPolicyViolation, string(reason)
	}
	_ = c.Send(wsframe.AppendClose(nil, code, text))
	c.Close(reason)
}
