package client

import (
	"errors"
	"fmt"

	"github.com/pushgate/pushgate/protocol/engineio"
)

// wsMachine is KindWS: WebSocket handshake, Engine.IO open, Socket.IO CONNECT.
type wsMachine struct {
	sio
	ws       wsConn
	upgraded bool // 101 received
	acc      []byte
}

func newWS(cfg *Config, sink Sink, id uint64) *wsMachine {
	m := &wsMachine{sio: sio{cfg: cfg, sink: sink}}
	m.ws.init(id, cfg.maxMessage())
	return m
}

func (m *wsMachine) State() *State { return &m.st }

func (m *wsMachine) Begin(now int64, out []byte) []byte {
	return m.ws.appendUpgrade(out, m.cfg, m.cfg.eioTarget("websocket", ""))
}

func (m *wsMachine) Feed(now int64, in []byte, out []byte) ([]byte, Next, error) {
	if !m.upgraded {
		var rest []byte
		var err error
		rest, err = m.readHead(in)
		if err != nil || rest == nil {
			return out, next(err), err
		}
		in = rest
	}
	out, err := m.ws.feed(in, out, func(msg []byte, out []byte) ([]byte, error) {
		return m.onEIO(now, msg, out)
	})
	return out, next(err), err
}

// readHead accumulates the 101 head; it returns the bytes after it, or nil
// while incomplete.
func (m *wsMachine) readHead(in []byte) ([]byte, error) {
	buf := in
	if len(m.acc) > 0 {
		m.acc = append(m.acc, in...)
		buf = m.acc
	}
	h, n, err := parseHead(buf)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		if len(m.acc) == 0 {
			m.acc = append(m.acc, in...)
		}
		return nil, nil
	}
	if err := m.ws.checkAccept(h); err != nil {
		return nil, fmt.Errorf("%w (body %s)", err, snippet(buf[n:]))
	}
	m.upgraded = true
	rest := append([]byte{}, buf[n:]...) // tiny, once per connection
	m.acc = nil
	return rest, nil
}

// onEIO handles one Engine.IO text packet.
func (m *wsMachine) onEIO(now int64, msg []byte, out []byte) ([]byte, error) {
	if len(msg) == 0 {
		return out, fmt.Errorf("%w: empty engine.io packet", ErrProtocol)
	}
	switch engineio.PacketType(msg[0]) {
	case engineio.PacketOpen:
		out = m.ws.appendText(out, string(m.connectPacket()))
	case engineio.PacketPing:
		m.st.Pings++
		out = m.ws.appendText(out, "3"+string(msg[1:]))
	case engineio.PacketClose:
		return out, fmt.Errorf("%w: engine.io close", ErrClosed)
	case engineio.PacketMessage:
		if err := m.onMessage(now, msg[1:]); err != nil {
			return out, err
		}
		if m.connected {
			m.st.ready(now)
		}
	}
	return out, nil
}

// next maps a Feed error to the loop's action.
func next(err error) Next {
	if err != nil {
		return Close
	}
	return Continue
}

// IsClosedByServer reports whether err means the server ended the session.
func IsClosedByServer(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(err, errWSClose)
}
