package transport

import (
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/engineio"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

const (
	transportPolling = iota
	transportWebSocket
)

// Prepared is one server→client Engine.IO text packet encoded once for both transports, shared
// read-only by every session it is delivered to.
type Prepared struct {
	// Frame is the complete WebSocket text frame.
	Frame []byte
	// Record is the packet as a polling payload record (a suffix of Frame).
	Record []byte
}

// Prepare encodes an Engine.IO text packet (e.g. `42/acme,["x",{}]`) for both transports with
// one allocation.
func Prepare(packet []byte) *Prepared {
	frame := wsframe.AppendHeader(make([]byte, 0, len(packet)+10), ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(packet))})
	hl := len(frame)
	frame = append(frame, packet...)
	return &Prepared{Frame: frame, Record: frame[hl:]}
}

// outPacket is one packet waiting in a polling session's buffer.
type outPacket struct {
	rec    []byte // polling record (text, or "b"+base64 for binary)
	frame  []byte // WebSocket frame, when already built (shared fan-out packets)
	binary []byte // raw binary data, for binary messages (may be empty)
	isBin  bool
}

var recordSep = []byte{engineio.RecordSeparator}

// closeGrace is how long a client-closed polling session answers one late GET with a noop.
const closeGrace = 100 * time.Millisecond

// Session is one Engine.IO session (a client connection that may span several HTTP requests and
// a WebSocket). All its state is guarded by mu; links are written while holding mu, which is
// safe because Link methods never block (see LOCKING.md).
type Session struct {
	ID string
	// RawQuery is the query of the request that opened the session (parsed on demand by Query:
	// a copied url.Values would cost every idle session a map); Authorization its header.
	RawQuery      string
	Authorization string
	Origin        string
	RemoteAddr    string
	// data belongs to the layer above (Socket.IO keeps its client state here): set in OnOpen,
	// read by later callbacks on other goroutines (timers, the close handler).
	data atomic.Value

	e  *EngineServer
	mu sync.Mutex

	transport    int
	closed       bool
	upgrading    bool
	ws           conn.Link // the WebSocket once on (or upgraded to) websocket
	probe        conn.Link // the WebSocket being probed during an upgrade
	getLink      conn.Link // the pending long-poll GET
	getOrigin    string
	postBusy     bool
	buf          []outPacket
	bufBytes     int
	waitingPong  bool
	inboundTAT   int64            // MaxInboundRate: theoretical arrival time (unix ns) of the next packet
	closing      bool             // closeRateLimited has begun (its farewell is on the way)
	pendingClose conn.CloseReason // a close waiting for an upgrade in progress to settle
	graceGET     bool             // closed; one late GET may still get lastWords
	lastWords    [][]byte         // what that GET gets: a noop, or the final packets and a close
	timer        *time.Timer      // heartbeat: next ping, or ping timeout while waitingPong
	upTimer      *time.Timer
	corked       bool // Cork: polling flushes held until Uncork
	moved        bool // exported to another process (Export): requests are forwarded there
}

// forwardMoved passes a request that found the session just as it moved away to the process
// it moved to (EngineConfig.Forward); it reports whether it did.
func (s *Session) forwardMoved(r *conn.Request, l conn.Link) bool {
	return s.e.forward(s.ID, r, l)
}

func (e *EngineServer) newSession(r *conn.Request, tr int) *Session {
	s := &Session{
		ID: e.cfg.SIDPrefix + NewID(), RawQuery: strings.Clone(r.RawQuery), Authorization: r.Authorization, Origin: r.Origin, RemoteAddr: r.RemoteAddr,
		e: e, transport: tr,
	}
	// The heartbeat starts with the session (not after the handshake is flushed): the reference
	// closes a silent session pingInterval+pingTimeout after it was created.
	s.mu.Lock() // onTimer reads s.timer under the lock: it may fire before this assignment
	s.timer = time.AfterFunc(e.cfg.PingInterval, s.onTimer)
	s.mu.Unlock()
	e.register(s)
	return s
}

func (s *Session) handshake(upgrades []string) []byte {
	return engineio.AppendOpen(nil, engineio.Handshake{
		SID: s.ID, Upgrades: upgrades, PingInterval: s.e.cfg.PingInterval,
		PingTimeout: s.e.cfg.PingTimeout, MaxPayload: s.e.cfg.MaxPayload,
	})
}

func (s *Session) handshakePolling(r *conn.Request, l conn.Link) {
	body := s.handshake([]string{"websocket"})
	// The layer above opens first: a client may POST its first packets (the Socket.IO CONNECT)
	// on another connection as soon as it reads the handshake, and they must find it ready.
	s.e.h.OnOpen(s)
	l.Respond(s.pollResponse(r.Origin, 200, body))
}

func (s *Session) pollResponse(origin string, status int, body ...[]byte) *conn.Response {
	h := append([]conn.Header{{Name: "Cache-Control", Value: "no-store"}}, s.e.cfg.CORS.Headers(origin)...)
	return &conn.Response{Status: status, ContentType: "text/plain; charset=UTF-8", Header: h, Body: body}
}

// Query parses the query of the request that opened the session.
func (s *Session) Query() url.Values {
	q, _ := url.ParseQuery(s.RawQuery)
	return q
}

// IsWebSocket reports whether the session is on the WebSocket transport.
func (s *Session) IsWebSocket() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport == transportWebSocket
}

// SendText sends one Engine.IO text packet (e.g. "40{...}"). The slice must not be modified
// afterwards.
func (s *Session) SendText(packet []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(outPacket{rec: packet})
}

// SendBinary sends one binary message.
func (s *Session) SendBinary(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(outPacket{binary: data, isBin: true})
}

// Deliver queues a shared prepared packet without flushing and returns the link to flush (nil
// when nothing needs a flush). This is the fan-out path: the caller flushes each link once per
// batch. It reports the outcome: dropped when the session is closed, or the WebSocket's queue
// passed its cap (the connection is closing as a slow consumer).
func (s *Session) Deliver(p *Prepared) (conn.Link, conn.Outcome) { return s.deliver(p, nil, "") }

// deliver is Deliver that, when k is set, records pos as k's position (Handover) in the same
// critical section as the packet is queued.
func (s *Session) deliver(p *Prepared, k *Socket, pos string) (conn.Link, conn.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, conn.DroppedClosed
	}
	if k != nil {
		k.pos = pos
	}
	if s.transport == transportWebSocket && s.ws != nil {
		return EnqueueOutcome(s.ws, p.Frame)
	}
	s.bufferLocked(outPacket{rec: p.Record, frame: p.Frame})
	if s.closed { // the buffer passed its cap: closed as a slow consumer
		return nil, conn.DroppedSlow
	}
	s.flushPollLocked()
	return nil, conn.Queued
}

// EnqueueOutcome queues b on l without flushing and returns l to flush and the outcome; a link
// that tells why it refused (netserver.Conn) separates a slow consumer from a closed connection.
func EnqueueOutcome(l conn.Link, b []byte) (conn.Link, conn.Outcome) {
	if e, ok := l.(interface{ EnqueueOutcome([]byte) conn.Outcome }); ok {
		if o := e.EnqueueOutcome(b); o != conn.Queued {
			return nil, o
		}
		return l, conn.Queued
	}
	if l.Enqueue(b) {
		return l, conn.Queued
	}
	return nil, conn.DroppedSlow
}

func (s *Session) sendLocked(p outPacket) {
	if s.closed {
		return
	}
	if s.transport == transportWebSocket && s.ws != nil {
		_ = s.ws.Send(p.wsFrame())
		return
	}
	s.bufferLocked(p)
	s.flushPollLocked()
}

func (p outPacket) wsFrame() []byte {
	if p.frame != nil {
		return p.frame
	}
	if p.isBin {
		return wsframe.AppendFrame(nil, ws.OpBinary, p.binary)
	}
	return wsframe.AppendFrame(nil, ws.OpText, p.rec)
}

func (p outPacket) record() []byte {
	if p.isBin {
		return engineio.AppendBinaryBase64(nil, p.binary)
	}
	return p.rec
}

func (s *Session) bufferLocked(p outPacket) {
	n := len(p.rec) + len(p.binary)
	if s.bufBytes+n > s.e.cfg.MaxBufferedBytes {
		s.closeLocked(conn.ReasonSlowConsumer, true)
		return
	}
	s.buf = append(s.buf, p)
	s.bufBytes += n
}

// Cork holds the polling flushes until Uncork, so that what is queued meanwhile leaves in one
// payload: the Socket.IO CONNECT reply and the events a recovering client missed (replayed
// before it) are received together or not at all. Were the replay answered alone and the next
// poll fail, socket.io-client would keep those events buffered across the failed attempt and
// emit them again after the next attempt's replay (duplicates).
func (s *Session) Cork() {
	s.mu.Lock()
	s.corked = true
	s.mu.Unlock()
}

// Uncork ends Cork and flushes.
func (s *Session) Uncork() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corked = false
	s.flushPollLocked()
}

// flushPollLocked answers the pending GET with everything buffered (one payload).
func (s *Session) flushPollLocked() {
	if s.getLink == nil || len(s.buf) == 0 || s.upgrading || s.corked {
		return
	}
	body := make([][]byte, 0, 2*len(s.buf))
	for i, p := range s.buf {
		if i > 0 {
			body = append(body, recordSep)
		}
		body = append(body, p.record())
	}
	s.buf, s.bufBytes = nil, 0
	s.answerGETLocked(body...)
}

func (s *Session) answerGETLocked(body ...[]byte) {
	l := s.getLink
	s.getLink = nil
	l.SetCloseHandler(nil)
	l.Respond(s.pollResponse(s.getOrigin, 200, body...))
}

var (
	packetNoop  = []byte{byte(engineio.PacketNoop)}
	packetClose = []byte{byte(engineio.PacketClose)}
	packetPing  = []byte{byte(engineio.PacketPing)}
	packetProbe = []byte("3probe")
	okBody      = []byte("ok")
)

func (s *Session) pollGET(r *conn.Request, l conn.Link) {
	s.mu.Lock()
	if s.moved {
		s.mu.Unlock()
		if !s.forwardMoved(r, l) {
			s.e.fail(r, l, engineio.ErrSessionIDUnknown)
		}
		return
	}
	defer s.mu.Unlock()
	if s.closed {
		if s.graceGET {
			s.graceGET = false
			l.Respond(s.pollResponse(r.Origin, 200, s.lastWords...))
			return
		}
		s.e.fail(r, l, engineio.ErrSessionIDUnknown)
		return
	}
	if s.transport != transportPolling {
		s.e.fail(r, l, engineio.ErrBadRequest)
		return
	}
	if s.getLink != nil {
		// Two concurrent GETs: the reference answers the second with 400, the first with a
		// close packet, and ends the session.
		s.e.fail(r, l, engineio.ErrBadRequest)
		s.closeLocked(conn.ReasonProtocolError, true)
		return
	}
	s.getLink, s.getOrigin = l, r.Origin
	if s.upgrading {
		s.answerGETLocked(packetNoop)
		return
	}
	l.SetCloseHandler(func(conn.CloseReason) {
		// The client went away while its long-poll was pending.
		s.mu.Lock()
		if s.getLink == l {
			s.getLink = nil
			s.closeLocked(conn.ReasonTransportClose, false)
		}
		s.mu.Unlock()
	})
	s.flushPollLocked()
}

func (s *Session) pollPOST(r *conn.Request, l conn.Link) {
	s.mu.Lock()
	switch {
	case s.moved:
		s.mu.Unlock()
		if !s.forwardMoved(r, l) {
			s.e.fail(r, l, engineio.ErrSessionIDUnknown)
		}
		return
	case s.closed:
		s.mu.Unlock()
		s.e.fail(r, l, engineio.ErrSessionIDUnknown)
		return
	case s.transport != transportPolling:
		s.mu.Unlock()
		s.e.fail(r, l, engineio.ErrBadRequest)
		return
	case s.postBusy:
		s.closeLocked(conn.ReasonProtocolError, true)
		s.mu.Unlock()
		s.e.fail(r, l, engineio.ErrBadRequest)
		return
	case int64(len(r.Body)) > s.e.cfg.MaxPayload:
		s.mu.Unlock()
		l.Respond(&conn.Response{Status: 413, ContentType: "application/json", Header: s.e.cfg.CORS.Headers(r.Origin),
			Body: [][]byte{[]byte(`{"code":3,"message":"Payload too large"}`)}})
		return
	case r.ContentType == "application/octet-stream":
		s.closeLocked(conn.ReasonProtocolError, true)
		s.mu.Unlock()
		s.e.fail(r, l, engineio.ErrBadRequest)
		return
	}
	s.postBusy = true
	s.mu.Unlock()

	var scratch []byte
	_, err := engineio.DecodePayload(r.Body, scratch, func(p engineio.Packet) error {
		return s.onPacket(p, nil)
	})

	s.mu.Lock()
	s.postBusy = false
	if err != nil {
		s.closeLocked(conn.ReasonProtocolError, true)
		s.mu.Unlock()
		s.e.fail(r, l, engineio.ErrBadRequest)
		return
	}
	s.mu.Unlock()
	l.Respond(&conn.Response{Status: 200, ContentType: "text/html", Header: s.e.cfg.CORS.Headers(r.Origin), Body: [][]byte{okBody}})
}

// errSessionEnded stops payload decoding after a close packet.
type sessionError string

func (e sessionError) Error() string { return string(e) }

const errSessionEnded = sessionError("transport: session ended")

// onPacket handles one client packet from any transport (probe is the probing WebSocket, nil
// otherwise).
func (s *Session) onPacket(p engineio.Packet, probe conn.Link) error {
	if !s.admitInbound() {
		s.closeRateLimited()
		return errSessionEnded
	}
	switch p.Type {
	case engineio.PacketMessage:
		s.e.h.OnMessage(s, p.Data, p.Binary)
	case engineio.PacketPong:
		s.mu.Lock()
		if s.waitingPong && !s.closed {
			s.waitingPong = false
			s.timer.Reset(s.e.cfg.PingInterval)
		}
		s.mu.Unlock()
	case engineio.PacketClose:
		s.mu.Lock()
		if s.getLink != nil && s.transport == transportPolling {
			s.answerGETLocked(packetNoop)
		} else if s.transport == transportPolling {
			// The client fires its last GET and the POST "1" together; if the POST wins, that
			// GET still gets the noop it expects (not 400) during a short grace.
			s.keepForLateGET(closeGrace, packetNoop)
		}
		s.closeLocked(conn.ReasonClientClose, false)
		s.mu.Unlock()
		return errSessionEnded
	default:
		// Pings from a v4 client, a stray upgrade or open packet: protocol violation.
		s.Close(conn.ReasonProtocolError)
		return errSessionEnded
	}
	return nil
}

// onTimer drives the heartbeat: send a ping, then close if no pong arrives in time.
func (s *Session) onTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.waitingPong {
		s.closeLocked(conn.ReasonPingTimeout, true)
		return
	}
	s.waitingPong = true
	s.timer.Reset(s.e.cfg.PingTimeout)
	s.sendLocked(outPacket{rec: packetPing})
}

// Close ends the session from the server side.
func (s *Session) Close(reason conn.CloseReason) {
	s.mu.Lock()
	s.closeLocked(reason, true)
	s.mu.Unlock()
}

// closeLocked ends the session. notify says whether the client must be told (a close packet on a
// pending GET, or closing the WebSocket).
func (s *Session) closeLocked(reason conn.CloseReason, notify bool) {
	if s.closed {
		return
	}
	if notify && deliberate(reason) && s.upgrading && s.probe != nil && len(s.buf) > 0 && s.pendingClose == "" {
		// Mid-upgrade the client may already have switched to the new WebSocket: let the
		// upgrade finish (or fail) so the final packets (e.g. "pushgate:close") reach it on
		// whichever transport it ends on, then close. Bounded by upgradeCloseGrace.
		s.pendingClose = reason
		time.AfterFunc(upgradeCloseGrace, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.upgrading = false
			s.closeLocked(reason, true)
		})
		return
	}
	s.closed = true
	s.timer.Stop()
	if s.upTimer != nil {
		s.upTimer.Stop()
	}
	switch {
	case s.getLink != nil && notify:
		// The packets queued before the close (e.g. "pushgate:close" with its reason) go out
		// with the close packet.
		s.answerGETLocked(s.finalWordsLocked()...)
	case s.getLink != nil:
		s.getLink.SetCloseHandler(nil)
		s.getLink = nil
	case notify && s.transport == transportPolling && len(s.buf) > 0 && deliberate(reason):
		// No GET is waiting: the client's next one (normally within milliseconds) still gets
		// the final packets and the close.
		s.keepForLateGET(finalWordsGrace, s.finalWordsLocked()...)
	}
	s.buf, s.bufBytes = nil, 0
	if !s.graceGET {
		s.e.unregister(s)
	}
	if s.ws != nil {
		closeWS(s.ws, reason)
	}
	if s.probe != nil {
		closeWS(s.probe, reason)
	}
	go s.e.h.OnClose(s, reason)
}

// deliberate reports whether the server ends the session on purpose with something to say
// (e.g. "pushgate:close"), as opposed to a dead peer (ping timeout, where the reference answers
// 400 to any later request).
func deliberate(r conn.CloseReason) bool {
	return r == conn.ReasonServerClose || r.Told()
}

// farewell is implemented by session handlers that tell the client why the server closes its
// session for the client's own conduct (Socket.IO: an event on every joined namespace).
type farewell interface {
	Farewell(s *Session, reason conn.CloseReason)
}

// closeRateLimited closes the session once (packets read in the same batch as the one over the
// rate count once), after the handler's farewell, which is queued before the close.
func (s *Session) closeRateLimited() {
	s.mu.Lock()
	first := !s.closed && !s.closing
	s.closing = true
	s.mu.Unlock()
	if !first {
		return
	}
	s.e.RateLimited.Add(1)
	if f, ok := s.e.h.(farewell); ok {
		f.Farewell(s, conn.ReasonRateLimited) // takes s.mu to queue: not held here
	}
	s.Close(conn.ReasonRateLimited)
}

// finalWordsLocked is the buffered packets followed by a close packet, as one polling payload.
func (s *Session) finalWordsLocked() [][]byte {
	body := make([][]byte, 0, 2*len(s.buf)+1)
	for _, p := range s.buf {
		body = append(body, p.record(), recordSep)
	}
	return append(body, packetClose)
}

// keepForLateGET keeps a closed session findable for d so that one late GET gets words instead
// of "Session ID unknown".
func (s *Session) keepForLateGET(d time.Duration, words ...[]byte) {
	s.graceGET, s.lastWords = true, words
	time.AfterFunc(d, func() {
		s.mu.Lock()
		s.graceGET, s.lastWords = false, nil
		s.mu.Unlock()
		s.e.unregister(s)
	})
}

// upgradeCloseGrace bounds how long a server close waits for an upgrade in progress.
const upgradeCloseGrace = time.Second

// settleCloseLocked runs a close deferred by an upgrade, once the upgrade completed or failed.
func (s *Session) settleCloseLocked() {
	if s.pendingClose != "" && !s.closed {
		s.closeLocked(s.pendingClose, true)
	}
}

// finalWordsGrace is how long a server-closed polling session waits for the GET that carries
// its last packets.
const finalWordsGrace = 2 * time.Second

func closeWS(l conn.Link, reason conn.CloseReason) {
	if c, ok := l.(interface{ CloseWS(conn.CloseReason) }); ok {
		c.CloseWS(reason)
		return
	}
	l.Close(reason)
}

// SetData stores the layer above's state for this session (never nil).
func (s *Session) SetData(v any) { s.data.Store(v) }

// Data returns what SetData stored, nil before.
func (s *Session) Data() any { return s.data.Load() }

// admitInbound applies MaxInboundRate as a GCRA (a token bucket in one number): each packet moves
// the theoretical arrival time inboundTAT one interval ahead; a packet arriving more than one
// second before it is over the rate.
func (s *Session) admitInbound() bool {
	rate := s.e.cfg.MaxInboundRate
	if rate <= 0 {
		return true
	}
	interval := int64(float64(time.Second) / rate)
	now := time.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	tat := max(s.inboundTAT, now)
	if tat-now > int64(time.Second) {
		return false
	}
	s.inboundTAT = tat + interval
	return true
}

// QueuedBytes is the number of bytes queued for the client: the WebSocket's outbound queue, or
// the polling buffer.
func (s *Session) QueuedBytes() int {
	s.mu.Lock()
	ws, n := s.ws, s.bufBytes
	s.mu.Unlock()
	if q, ok := ws.(interface{ QueuedBytes() int }); ok && ws != nil {
		return q.QueuedBytes()
	}
	return n
}
