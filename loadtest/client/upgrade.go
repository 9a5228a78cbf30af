package client

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/pushgate/pushgate/protocol/engineio"
)

// upgrade phases
const (
	upOpen    = iota // GET polling handshake sent
	upPost           // POST of the CONNECT sent
	upPoll           // GET for the CONNECT reply sent
	upWSHead         // on the second connection: upgrade request sent
	upProbe          // "2probe" sent, waiting for "3probe"
	upDone           // "5" sent: plain WebSocket from here
	upStarted = -1
)

// upgradeMachine is KindUpgrade: Engine.IO long-polling handshake and
// Socket.IO CONNECT over HTTP keep-alive, then a second TCP connection that
// upgrades the session to WebSocket (2probe / 3probe / 5).
type upgradeMachine struct {
	sio
	ws       wsMachine // reused for the WebSocket part (head parsing, frames)
	phase    int
	sid      string
	acc      []byte
	scratch  []byte
	needPong bool
}

func newUpgrade(cfg *Config, sink Sink, id uint64) *upgradeMachine {
	m := &upgradeMachine{sio: sio{cfg: cfg, sink: sink}, phase: upStarted}
	m.ws.cfg = cfg
	m.ws.ws.init(id, cfg.maxMessage())
	return m
}

func (m *upgradeMachine) State() *State { return &m.st }

func (m *upgradeMachine) Begin(now int64, out []byte) []byte {
	if m.phase == upStarted {
		m.phase = upOpen
		return appendGet(out, m.cfg, m.cfg.eioTarget("polling", ""), "")
	}
	// Second connection: the WebSocket with the session id.
	m.phase = upWSHead
	m.acc = m.acc[:0]
	return m.ws.ws.appendUpgrade(out, m.cfg, m.cfg.eioTarget("websocket", m.sid))
}

func (m *upgradeMachine) Feed(now int64, in []byte, out []byte) ([]byte, Next, error) {
	if m.phase >= upWSHead {
		return m.feedWS(now, in, out)
	}
	m.acc = append(m.acc, in...)
	for {
		h, n, err := parseHead(m.acc)
		if err != nil || n == 0 {
			return out, next(err), err
		}
		if h.contentLength < 0 || h.chunked {
			err := fmt.Errorf("%w: polling response without Content-Length", ErrProtocol)
			return out, Close, err
		}
		if int64(len(m.acc)-n) < h.contentLength {
			return out, Continue, nil
		}
		body := m.acc[n : n+int(h.contentLength)]
		var nx Next
		out, nx, err = m.onPollResponse(now, h, body, out)
		m.acc = m.acc[:copy(m.acc, m.acc[n+int(h.contentLength):])]
		if err != nil || nx != Continue {
			return out, nx, err
		}
		if len(m.acc) == 0 {
			return out, Continue, nil
		}
	}
}

func (m *upgradeMachine) onPollResponse(now int64, h head, body []byte, out []byte) ([]byte, Next, error) {
	if h.status != 200 {
		return out, Close, fmt.Errorf("%w: polling answered %d %s", ErrRefused, h.status, snippet(body))
	}
	switch m.phase {
	case upOpen:
		if len(body) == 0 || body[0] != byte(engineio.PacketOpen) {
			return out, Close, fmt.Errorf("%w: polling handshake body %s", ErrProtocol, snippet(body))
		}
		var open struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(body[1:], &open); err != nil || open.SID == "" {
			return out, Close, fmt.Errorf("%w: open packet %s", ErrProtocol, snippet(body))
		}
		m.sid = open.SID
		m.phase = upPost
		return appendPost(out, m.cfg, m.cfg.eioTarget("polling", m.sid), m.connectPacket()), Continue, nil
	case upPost:
		if !bytes.Equal(body, []byte("ok")) {
			return out, Close, fmt.Errorf("%w: POST answered %s", ErrProtocol, snippet(body))
		}
		m.phase = upPoll
		return appendGet(out, m.cfg, m.cfg.eioTarget("polling", m.sid), ""), Continue, nil
	case upPoll:
		var err error
		m.scratch, err = engineio.DecodePayload(body, m.scratch[:0], func(p engineio.Packet) error {
			switch p.Type {
			case engineio.PacketPing:
				m.needPong = true
				m.st.Pings++
			case engineio.PacketClose:
				return fmt.Errorf("%w: engine.io close while polling", ErrClosed)
			case engineio.PacketMessage:
				if !p.Binary {
					return m.onMessage(now, p.Data)
				}
			}
			return nil
		})
		if err != nil {
			return out, Close, err
		}
		if !m.connected {
			return appendGet(out, m.cfg, m.cfg.eioTarget("polling", m.sid), ""), Continue, nil
		}
		return out, Redial, nil
	}
	return out, Close, fmt.Errorf("%w: unexpected HTTP response", ErrProtocol)
}

func (m *upgradeMachine) feedWS(now int64, in []byte, out []byte) ([]byte, Next, error) {
	if m.phase == upWSHead {
		rest, err := m.ws.readHead(in)
		if err != nil || rest == nil {
			return out, next(err), err
		}
		m.phase = upProbe
		out = m.ws.ws.appendText(out, "2probe")
		in = rest
	}
	out, err := m.ws.ws.feed(in, out, func(msg []byte, out []byte) ([]byte, error) {
		if m.phase == upProbe {
			if string(msg) != "3probe" {
				return out, fmt.Errorf("%w: want 3probe, got %s", ErrProtocol, snippet(msg))
			}
			m.phase = upDone
			out = m.ws.ws.appendText(out, "5")
			if m.needPong {
				out = m.ws.ws.appendText(out, "3")
				m.needPong = false
			}
			m.st.ready(now)
			return out, nil
		}
		return m.onEIOAfter(now, msg, out)
	})
	return out, next(err), err
}

// onEIOAfter handles Engine.IO packets on the upgraded WebSocket.
func (m *upgradeMachine) onEIOAfter(now int64, msg []byte, out []byte) ([]byte, error) {
	if len(msg) == 0 {
		return out, fmt.Errorf("%w: empty engine.io packet", ErrProtocol)
	}
	switch engineio.PacketType(msg[0]) {
	case engineio.PacketPing:
		m.st.Pings++
		out = m.ws.ws.appendText(out, "3"+string(msg[1:]))
	case engineio.PacketClose:
		return out, fmt.Errorf("%w: engine.io close", ErrClosed)
	case engineio.PacketMessage:
		return out, m.onMessage(now, msg[1:])
	}
	return out, nil
}
