package transport

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
)

// A polling session can move to another process (engine/cluster "Many instances": the instance
// a WebSocket upgrade lands on takes the session over instead of relaying the socket to its
// owner for the socket's whole life). The owner exports it (Export: it stops delivering, answers
// a pending GET with a noop as for an upgrade, and forgets the session), and the new process
// adopts it from the Handover and runs the upgrade itself (EngineConfig.Migrate). Events are
// neither lost nor repeated: the owner hands over the packets it had queued but not delivered
// and, per socket, the id of the last event it queued (Position); the new owner queues the
// former, then replays its history (or the source) after the latter.

// Handover is an Engine.IO session and its Socket.IO sockets on their way to another process.
type Handover struct {
	SID           string `json:"sid"`
	RawQuery      string `json:"query,omitempty"`
	Authorization string `json:"authorization,omitempty"`
	Origin        string `json:"origin,omitempty"`
	RemoteAddr    string `json:"remote,omitempty"`
	// Queued are the packets the old owner had queued for the next GET, in order.
	Queued []QueuedPacket `json:"queued,omitempty"`
	// Sockets are the joined namespaces.
	Sockets []HandoverSocket `json:"sockets"`
}

// QueuedPacket is one Engine.IO message packet waiting for delivery (text: the packet with its
// type byte, e.g. `42/acme,[…]`; binary: the raw data).
type QueuedPacket struct {
	Data   []byte `json:"data"`
	Binary bool   `json:"binary,omitempty"`
}

// HandoverSocket is one joined namespace of a moving session.
type HandoverSocket struct {
	Namespace string `json:"nsp"`
	ID        string `json:"id"`
	PID       string `json:"pid,omitempty"`
	// Position is the id passed to DeliverAt with the last packet queued for the socket ("" when
	// none was).
	Position string `json:"position,omitempty"`
	// State is the namespace logic's (Mover).
	State []byte `json:"state,omitempty"`
}

// Mover is implemented by namespaces whose sockets can move with their session.
type Mover interface {
	// Export stops k on this process (nothing more is delivered to it, no disconnect is reported)
	// and returns what Import needs to resume it elsewhere.
	Export(k *Socket) ([]byte, error)
	// Import resumes k (ID, PID and Namespace set) from state on this process, delivering what
	// follows position (HandoverSocket.Position, or where the exported subscription started).
	// An error ends the session: the client reconnects and joins afresh.
	Import(k *Socket, state []byte, position string) error
}

// ErrNotMovable is returned by Export for a session that is not on polling or is upgrading.
var ErrNotMovable = errors.New("transport: session is not movable now")

// ErrNoSession is returned by Export for an unknown session.
var ErrNoSession = errors.New("transport: no such session")

// Has reports whether the session sid lives here (or is being adopted here).
func (e *EngineServer) Has(sid string) bool {
	if e.lookup(sid) != nil {
		return true
	}
	e.incomingMu.Lock()
	defer e.incomingMu.Unlock()
	_, ok := e.incoming[sid]
	return ok
}

// parkedRequest is a polling request for a session being adopted, served once it is.
type parkedRequest struct {
	r *conn.Request
	l conn.Link
}

// expect marks sid as being adopted: polling requests for it wait (park) until release. A
// request may reach this process between the owner's export and the adoption (the old owner
// forwards a moved session's requests here at once).
func (e *EngineServer) expect(sid string) bool {
	e.incomingMu.Lock()
	defer e.incomingMu.Unlock()
	if _, dup := e.incoming[sid]; dup {
		return false
	}
	if e.incoming == nil {
		e.incoming = map[string][]parkedRequest{}
	}
	e.incoming[sid] = nil
	return true
}

// park keeps r for release when sid is being adopted; it reports whether it did.
func (e *EngineServer) park(sid string, r *conn.Request, l conn.Link) bool {
	e.incomingMu.Lock()
	defer e.incomingMu.Unlock()
	list, ok := e.incoming[sid]
	if !ok {
		return false
	}
	c := *r // the request's buffers belong to the connection: copy what outlives the call
	c.Method, c.Path, c.RawQuery = strings.Clone(r.Method), strings.Clone(r.Path), strings.Clone(r.RawQuery)
	c.Origin, c.ContentType = strings.Clone(r.Origin), strings.Clone(r.ContentType)
	c.Query = make(url.Values, len(r.Query))
	for k, vs := range r.Query {
		for _, v := range vs {
			c.Query.Add(strings.Clone(k), strings.Clone(v))
		}
	}
	c.Body, c.Raw = bytes.Clone(r.Body), bytes.Clone(r.Raw)
	e.incoming[sid] = append(list, parkedRequest{&c, l})
	return true
}

// release ends the adoption of sid and serves the requests that waited for it.
func (e *EngineServer) release(sid string) {
	e.incomingMu.Lock()
	list := e.incoming[sid]
	delete(e.incoming, sid)
	e.incomingMu.Unlock()
	for _, p := range list {
		e.ServeRequest(p.r, p.l)
	}
}

// sessionMover is implemented by session handlers whose state can move (the Socket.IO server).
type sessionMover interface {
	// exportSockets lists what moves with s (before s is frozen).
	movable(s *Session) ([]*Socket, error)
	// exportSockets completes the export of the sockets of a frozen session.
	exportSockets(s *Session, h *Handover) error
	adoptSockets(s *Session, h *Handover) error
}

// Export takes the polling session sid away from this server for another process: from now on
// nothing is delivered to it here, a pending GET is answered with a noop (the client polls again
// and finds the new owner) and the session is forgotten without a close.
func (e *EngineServer) Export(sid string) (*Handover, error) {
	s := e.lookup(sid)
	if s == nil {
		return nil, ErrNoSession
	}
	m, ok := e.h.(sessionMover)
	if !ok {
		return nil, ErrNotMovable
	}
	socks, err := m.movable(s)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed || s.closing || s.transport != transportPolling || s.upgrading || s.probe != nil || s.postBusy {
		s.mu.Unlock()
		return nil, ErrNotMovable
	}
	h := &Handover{SID: s.ID, RawQuery: s.RawQuery, Authorization: s.Authorization, Origin: s.Origin, RemoteAddr: s.RemoteAddr}
	for _, p := range s.buf {
		if p.isBin {
			h.Queued = append(h.Queued, QueuedPacket{Data: p.binary, Binary: true})
		} else {
			h.Queued = append(h.Queued, QueuedPacket{Data: p.rec})
		}
	}
	for _, k := range socks {
		h.Sockets = append(h.Sockets, HandoverSocket{Namespace: k.Namespace, ID: k.ID, PID: k.PID, Position: k.pos})
	}
	// Frozen: Deliver drops from here on (what it drops follows the positions above and is
	// replayed by the new owner).
	s.closed, s.moved = true, true
	s.timer.Stop()
	if s.getLink != nil {
		s.answerGETLocked(packetNoop)
	}
	s.buf, s.bufBytes = nil, 0
	s.mu.Unlock()
	e.unregister(s)
	if err := m.exportSockets(s, h); err != nil {
		return nil, err
	}
	return h, nil
}

// adopt makes h a session of this server, in polling, its queued packets first.
func (e *EngineServer) adopt(h *Handover) (*Session, error) {
	m, ok := e.h.(sessionMover)
	if !ok {
		return nil, ErrNotMovable
	}
	if h.SID == "" || e.lookup(h.SID) != nil {
		return nil, fmt.Errorf("transport: cannot adopt session %q", h.SID)
	}
	s := &Session{ID: h.SID, RawQuery: h.RawQuery, Authorization: h.Authorization, Origin: h.Origin, RemoteAddr: h.RemoteAddr,
		e: e, transport: transportPolling}
	for _, q := range h.Queued {
		if q.Binary {
			s.buf = append(s.buf, outPacket{binary: q.Data, isBin: true})
		} else {
			s.buf = append(s.buf, outPacket{rec: q.Data})
		}
		s.bufBytes += len(q.Data)
	}
	// The client last heard a ping from the old owner up to a ping interval ago: ping soon, so
	// that its ping timeout (interval + timeout since that ping) never fires across the move.
	s.mu.Lock()
	s.timer = time.AfterFunc(e.cfg.PingTimeout/2, s.onTimer)
	s.mu.Unlock()
	e.register(s)
	if err := m.adoptSockets(s, h); err != nil {
		s.Close(conn.ReasonServerClose)
		return nil, err
	}
	return s, nil
}

// migrateEndpoint is the WebSocket of an upgrade whose session is being fetched from its owner
// (EngineConfig.Migrate): the socket is accepted at once, a "2probe" arriving before the session
// waits for it, and once adopted the ordinary upgrade (probeEndpoint) takes over. When the
// session cannot be had, the socket is closed and the client goes on polling its old owner.
type migrateEndpoint struct {
	e      *EngineServer
	sid    string
	mu     sync.Mutex
	l      conn.Link
	probed bool
	closed bool
	failed bool
	p      *probeEndpoint
}

func (m *migrateEndpoint) OnOpen(l conn.Link) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.l = l
	switch {
	case m.failed:
		closeWS(l, conn.ReasonProtocolError)
	case m.p != nil:
		m.p.OnOpen(l)
	}
}

func (m *migrateEndpoint) OnMessage(l conn.Link, data []byte, binary bool) {
	m.mu.Lock()
	p := m.p
	if p == nil {
		if !binary && string(data) == "2probe" && !m.probed {
			m.probed = true
		} else {
			m.failed = true
			closeWS(l, conn.ReasonProtocolError)
		}
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	p.OnMessage(l, data, binary)
}

func (m *migrateEndpoint) OnClose(l conn.Link, reason conn.CloseReason) {
	m.mu.Lock()
	m.closed = true
	p := m.p
	m.mu.Unlock()
	if p != nil {
		p.OnClose(l, reason)
	}
}

// done receives the owner's hand-over (or why there is none).
func (m *migrateEndpoint) done(h *Handover, err error) {
	var s *Session
	if err == nil {
		s, err = m.e.adopt(h)
	}
	defer m.e.release(m.sid)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.failed = true
		if m.l != nil && !m.closed {
			closeWS(m.l, conn.ReasonProtocolError)
		}
		return
	}
	m.e.Adopted.Add(1)
	m.p = &probeEndpoint{s: s}
	if m.l == nil || m.closed {
		return // the client gave up on this socket: the session goes on polling here
	}
	m.p.OnOpen(m.l)
	if m.probed {
		m.p.OnMessage(m.l, []byte("2probe"), false)
	}
}

// movable implements sessionMover: the sockets of s, all of namespaces that can move.
func (srv *SocketServer) movable(s *Session) ([]*Socket, error) {
	c, _ := s.Data().(*client)
	if c == nil {
		return nil, ErrNotMovable
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.partial != nil || c.connecting > 0 {
		return nil, ErrNotMovable
	}
	for _, k := range c.sockets {
		if _, ok := k.ns.(Mover); !ok {
			return nil, fmt.Errorf("transport: namespace %s cannot move", k.Namespace)
		}
	}
	return slices.Clone(c.sockets), nil
}

// exportSockets implements sessionMover: each socket's namespace lets go of it.
func (srv *SocketServer) exportSockets(s *Session, h *Handover) error {
	c, _ := s.Data().(*client)
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	socks := c.sockets
	c.sockets = nil
	c.mu.Unlock()
	var errs []error
	for _, k := range socks {
		k.mu.Lock()
		k.left = true // no OnDisconnect here: the socket lives on elsewhere
		k.mu.Unlock()
		state, err := k.ns.(Mover).Export(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for j := range h.Sockets {
			if h.Sockets[j].ID == k.ID && h.Sockets[j].Namespace == k.Namespace {
				h.Sockets[j].State = state
			}
		}
	}
	return errors.Join(errs...)
}

// adoptSockets implements sessionMover: the sockets of h resume here, joined.
func (srv *SocketServer) adoptSockets(s *Session, h *Handover) error {
	c := &client{srv: srv, sess: s, joined: true}
	s.SetData(c)
	for _, hs := range h.Sockets {
		ns := srv.resolve(hs.Namespace)
		mv, ok := ns.(Mover)
		if !ok {
			return fmt.Errorf("transport: namespace %s cannot be adopted here", hs.Namespace)
		}
		k := &Socket{ID: hs.ID, PID: hs.PID, Namespace: srv.canonicalName(hs.Namespace), client: c, ns: ns}
		c.mu.Lock()
		c.sockets = append(c.sockets, k)
		c.mu.Unlock()
		if err := mv.Import(k, hs.State, hs.Position); err != nil {
			c.remove(k)
			return fmt.Errorf("transport: adopt %s: %w", hs.Namespace, err)
		}
	}
	return nil
}
