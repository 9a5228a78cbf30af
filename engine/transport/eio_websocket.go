package transport

import (
	"bytes"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/engineio"
)

// wsEndpoint carries a session whose transport is the WebSocket (from the start, or after an
// upgrade).
type wsEndpoint struct {
	s       *Session
	scratch []byte
}

// OnOpen implements WSHandler for a WebSocket-only session: the open packet goes first.
func (w *wsEndpoint) OnOpen(l conn.Link) {
	s := w.s
	s.mu.Lock()
	s.ws = l
	closed := s.closed
	if !closed {
		_ = l.Send(Prepare(s.handshake(nil)).Frame)
	}
	s.mu.Unlock()
	if closed {
		closeWS(l, conn.ReasonServerClose)
		return
	}
	s.e.h.OnOpen(s)
}

func (w *wsEndpoint) OnMessage(l conn.Link, data []byte, binary bool) {
	if binary {
		_ = w.s.onPacket(engineio.Packet{Type: engineio.PacketMessage, Data: data, Binary: true}, nil)
		return
	}
	p, scratch, err := engineio.DecodePacket(data, w.scratch[:0])
	w.scratch = scratch
	if err != nil {
		w.s.Close(conn.ReasonProtocolError)
		return
	}
	_ = w.s.onPacket(p, nil)
}

func (w *wsEndpoint) OnClose(l conn.Link, reason conn.CloseReason) {
	s := w.s
	s.mu.Lock()
	if s.ws == l {
		s.ws = nil // already gone: do not try to close it again
		s.closeLocked(conn.ReasonTransportClose, false)
	}
	s.mu.Unlock()
}

// upgradeEndpoint returns the WSHandler for a WebSocket that wants to take over a polling
// session. A session that is already upgrading or upgraded gets an endpoint that accepts and
// then closes the socket (answering 400 instead crashes the official suite's client).
func (s *Session) upgradeEndpoint() conn.WSHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.transport != transportPolling || s.upgrading || s.probe != nil {
		return rejectEndpoint{}
	}
	return &probeEndpoint{s: s}
}

type rejectEndpoint struct{}

func (rejectEndpoint) OnOpen(l conn.Link)                  { closeWS(l, conn.ReasonProtocolError) }
func (rejectEndpoint) OnMessage(conn.Link, []byte, bool)   {}
func (rejectEndpoint) OnClose(conn.Link, conn.CloseReason) {}

// probeEndpoint runs the upgrade handshake: 2probe → 3probe, every GET answered with a noop
// while upgrading, then 5 switches the session to this WebSocket.
type probeEndpoint struct {
	s        *Session
	upgraded bool
	ws       wsEndpoint
}

func (p *probeEndpoint) OnOpen(l conn.Link) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.probe != nil {
		closeWS(l, conn.ReasonProtocolError)
		return
	}
	s.probe = l
	s.upTimer = time.AfterFunc(s.e.cfg.UpgradeTimeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.probe == l {
			s.probe, s.upgrading = nil, false
			closeWS(l, conn.ReasonProtocolError)
			s.flushPollLocked()
			s.settleCloseLocked()
		}
	})
}

func (p *probeEndpoint) OnMessage(l conn.Link, data []byte, binary bool) {
	if p.upgraded {
		p.ws.OnMessage(l, data, binary)
		return
	}
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.probe != l {
		return
	}
	switch {
	case !binary && bytes.Equal(data, []byte("2probe")):
		_ = l.Send(Prepare(packetProbe).Frame)
		s.upgrading = true
		if s.getLink != nil {
			s.answerGETLocked(packetNoop)
		}
	case !binary && s.upgrading && len(data) == 1 && data[0] == byte(engineio.PacketUpgrade):
		s.upTimer.Stop()
		s.probe, s.upgrading = nil, false
		s.transport, s.ws = transportWebSocket, l
		if s.getLink != nil {
			s.answerGETLocked(packetNoop)
		}
		for _, q := range s.buf {
			_ = l.Send(q.wsFrame())
		}
		s.buf, s.bufBytes = nil, 0
		p.upgraded = true
		p.ws.s = s
		s.settleCloseLocked()
	default:
		// Anything else before the upgrade completes aborts it; polling goes on.
		s.upTimer.Stop()
		s.probe, s.upgrading = nil, false
		closeWS(l, conn.ReasonProtocolError)
		s.flushPollLocked()
		s.settleCloseLocked()
	}
}

func (p *probeEndpoint) OnClose(l conn.Link, reason conn.CloseReason) {
	if p.upgraded {
		p.ws.OnClose(l, reason)
		return
	}
	s := p.s
	s.mu.Lock()
	if s.probe == l {
		s.probe, s.upgrading = nil, false
		s.upTimer.Stop()
		s.flushPollLocked()
		s.settleCloseLocked()
	}
	s.mu.Unlock()
}
