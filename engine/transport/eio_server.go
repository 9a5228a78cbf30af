package transport

import (
	"crypto/rand"
	"encoding/base64"
	"hash/maphash"
	"strings"

	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/jsontext"

	"github.com/pushgate/pushgate/protocol/engineio"
)

// EngineConfig configures an Engine.IO v4 server. Zero values mean the reference defaults.
type EngineConfig struct {
	// PingInterval between server pings. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long a ping may stay unanswered. Zero means 20s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a polling→WebSocket upgrade. Zero means 10s.
	UpgradeTimeout time.Duration
	// MaxPayload is maxHttpBufferSize: the largest POST body / WebSocket message. Zero means 1e6.
	MaxPayload int64
	// MaxBufferedBytes caps what a polling session buffers between two GETs; over it the session
	// is closed as a slow consumer. Zero means 1 MiB.
	MaxBufferedBytes int
	// MaxInboundRate caps the packets a client may send per second (any transport), with bursts
	// of one second's worth; a session above it is closed with ReasonRateLimited. Zero means no
	// limit.
	MaxInboundRate float64
	// CORS decides the Access-Control-* headers of polling responses.
	CORS conn.CORS
	// AllowRequest, when set, can refuse a handshake (403, Engine.IO code 4) with its error text.
	AllowRequest func(r *conn.Request) error
	// AllowOrigin, when set, refuses WebSocket upgrades whose Origin it rejects (403).
	AllowOrigin func(origin string) bool
	// SIDPrefix starts every session id this server creates (several worker processes share
	// a port; the prefix names the owner).
	SIDPrefix string
	// Forward, when set, is offered every request whose sid is unknown here and does not carry
	// SIDPrefix (with Migrate set, also one that does: the session may have moved away); it reports whether it took the request (e.g. proxied it to the owning process).
	Forward func(sid string, r *conn.Request, l conn.Link) bool
	// Migrate, when set, is offered every WebSocket upgrade whose sid is unknown here, before
	// Forward: it reports whether it will fetch the session from its owner (Export there) and
	// call done, on any goroutine, with it or with why not. The upgrade is accepted at once and
	// completes on this server once the session is adopted (handover.go).
	Migrate func(sid string, r *conn.Request, done func(*Handover, error)) bool
}

func (c *EngineConfig) applyDefaults() {
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1_000_000
	}
	if c.MaxBufferedBytes <= 0 {
		c.MaxBufferedBytes = 1 << 20
	}
}

// SessionHandler is the layer above Engine.IO (Socket.IO, or the conformance echo). Calls for one
// session are serialised except OnClose, which may race with a final OnMessage.
type SessionHandler interface {
	OnOpen(s *Session)
	// OnMessage receives one message; data is valid only during the call.
	OnMessage(s *Session, data []byte, binary bool)
	OnClose(s *Session, reason conn.CloseReason)
}

const sessionShards = 64

// EngineServer serves Engine.IO v4 over HTTP long-polling and WebSocket (one path prefix).
type EngineServer struct {
	cfg  EngineConfig
	h    SessionHandler
	seed maphash.Seed
	// RateLimited counts sessions closed for sending above MaxInboundRate.
	RateLimited atomic.Int64
	// Adopted counts sessions taken over from another process (Migrate).
	Adopted atomic.Int64
	// incoming are the sessions being adopted, with the polling requests waiting for them.
	incomingMu sync.Mutex
	incoming   map[string][]parkedRequest
	shards     [sessionShards]struct {
		mu sync.RWMutex
		m  map[string]*Session
	}
}

// NewEngine returns an Engine.IO server delivering messages to h.
func NewEngine(cfg EngineConfig, h SessionHandler) *EngineServer {
	cfg.applyDefaults()
	e := &EngineServer{cfg: cfg, h: h, seed: maphash.MakeSeed()}
	for i := range e.shards {
		e.shards[i].m = make(map[string]*Session)
	}
	return e
}

// Config returns the effective configuration.
func (e *EngineServer) Config() EngineConfig { return e.cfg }

func (e *EngineServer) shard(sid string) int {
	return int(maphash.String(e.seed, sid) % sessionShards)
}

func (e *EngineServer) lookup(sid string) *Session {
	sh := &e.shards[e.shard(sid)]
	sh.mu.RLock()
	s := sh.m[sid]
	sh.mu.RUnlock()
	return s
}

func (e *EngineServer) register(s *Session) {
	sh := &e.shards[e.shard(s.ID)]
	sh.mu.Lock()
	sh.m[s.ID] = s
	sh.mu.Unlock()
}

func (e *EngineServer) unregister(s *Session) {
	sh := &e.shards[e.shard(s.ID)]
	sh.mu.Lock()
	if sh.m[s.ID] == s {
		delete(sh.m, s.ID)
	}
	sh.mu.Unlock()
}

// Sessions returns a snapshot of the open sessions.
func (e *EngineServer) Sessions() []*Session {
	var out []*Session
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.RLock()
		for _, s := range sh.m {
			out = append(out, s)
		}
		sh.mu.RUnlock()
	}
	return out
}

// NewID returns a 20-character URL-safe random id (120 bits), as the reference's sids.
func NewID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ServeRequest implements HTTPHandler.
func (e *EngineServer) ServeRequest(r *conn.Request, l conn.Link) conn.WSHandler {
	if r.Method == "OPTIONS" && !r.Upgrade {
		e.cfg.CORS.Preflight(r, l)
		return nil
	}
	q := r.Query
	tr := q.Get("transport")
	if tr != "polling" && tr != "websocket" {
		e.fail(r, l, engineio.ErrTransportUnknown)
		return nil
	}
	if q.Get("EIO") != "4" {
		e.fail(r, l, engineio.ErrUnsupportedProtocolVersion)
		return nil
	}
	sid := q.Get("sid")
	if r.Upgrade {
		return e.serveUpgrade(r, l, tr, sid)
	}
	if tr == "websocket" {
		e.fail(r, l, engineio.ErrBadRequest)
		return nil
	}
	if sid == "" {
		if r.Method != "GET" {
			e.fail(r, l, engineio.ErrBadHandshakeMethod)
			return nil
		}
		if e.cfg.AllowRequest != nil {
			if err := e.cfg.AllowRequest(r); err != nil {
				e.failMessage(r, l, engineio.ErrForbidden, err.Error())
				return nil
			}
		}
		s := e.newSession(r, transportPolling)
		s.handshakePolling(r, l)
		return nil
	}
	s := e.lookup(sid)
	if s == nil {
		if e.park(sid, r, l) || e.forward(sid, r, l) {
			return nil
		}
		e.fail(r, l, engineio.ErrSessionIDUnknown)
		return nil
	}
	switch r.Method {
	case "GET":
		s.pollGET(r, l)
	case "POST":
		s.pollPOST(r, l)
	default:
		e.fail(r, l, engineio.ErrBadRequest)
	}
	return nil
}

func (e *EngineServer) serveUpgrade(r *conn.Request, l conn.Link, tr, sid string) conn.WSHandler {
	if tr != "websocket" {
		e.failUpgrade(l, engineio.ErrBadRequest)
		return nil
	}
	if e.cfg.AllowOrigin != nil && r.Origin != "" && !e.cfg.AllowOrigin(r.Origin) {
		e.failUpgradeStatus(l, 403, engineio.ErrForbidden)
		return nil
	}
	if sid == "" {
		if e.cfg.AllowRequest != nil {
			if err := e.cfg.AllowRequest(r); err != nil {
				e.failUpgradeStatus(l, 403, engineio.ErrForbidden)
				return nil
			}
		}
		return &wsEndpoint{s: e.newSession(r, transportWebSocket)}
	}
	s := e.lookup(sid)
	if s == nil && e.cfg.Migrate != nil && e.expect(sid) {
		m := &migrateEndpoint{e: e, sid: sid}
		if e.cfg.Migrate(sid, r, m.done) {
			return m
		}
		e.release(sid)
	}
	if s == nil {
		// Another process's session: Forward may move the connection to its owner (Handoff).
		if e.forward(sid, r, l) {
			return nil
		}
		e.failUpgrade(l, engineio.ErrSessionIDUnknown)
		return nil
	}
	return s.upgradeEndpoint()
}

func (e *EngineServer) forward(sid string, r *conn.Request, l conn.Link) bool {
	if e.cfg.Forward == nil {
		return false
	}
	if strings.HasPrefix(sid, e.cfg.SIDPrefix) && e.cfg.Migrate == nil {
		return false // ours, and ours stay here: it is gone
	}
	return e.cfg.Forward(sid, r, l)
}

func (e *EngineServer) fail(r *conn.Request, l conn.Link, code engineio.ErrorCode) {
	e.failMessage(r, l, code, "")
}

func (e *EngineServer) failMessage(r *conn.Request, l conn.Link, code engineio.ErrorCode, msg string) {
	status := 400
	if code == engineio.ErrForbidden {
		status = 403
	}
	var body []byte
	if msg == "" {
		body = engineio.AppendError(nil, code)
	} else {
		body = append([]byte(`{"code":4,"message":`), jsontext.AppendString(nil, msg)...)
		body = append(body, '}')
	}
	l.Respond(&conn.Response{Status: status, ContentType: "application/json", Header: e.cfg.CORS.Headers(r.Origin), Body: [][]byte{body}})
}

// failUpgrade answers a refused WebSocket upgrade with a plain 400 and closes the connection, as
// the reference does.
func (e *EngineServer) failUpgrade(l conn.Link, code engineio.ErrorCode) {
	e.failUpgradeStatus(l, 400, code)
}

func (e *EngineServer) failUpgradeStatus(l conn.Link, status int, code engineio.ErrorCode) {
	l.Respond(&conn.Response{Status: status, ContentType: "application/json", Body: [][]byte{engineio.AppendError(nil, code)}, Close: true})
}
