package transport

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/internal/waitfor"
	"github.com/pushgate/pushgate/protocol/engineio"
)

// fakeLink records responses and sends.
type fakeLink struct {
	mu     sync.Mutex
	resps  []*conn.Response
	sent   [][]byte
	closed bool
	onCl   func(conn.CloseReason)
}

func (f *fakeLink) Respond(r *conn.Response) {
	f.mu.Lock()
	f.resps = append(f.resps, r)
	f.mu.Unlock()
}
func (f *fakeLink) Send(b ...[]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range b {
		f.sent = append(f.sent, append([]byte(nil), x...))
	}
	return nil
}
func (f *fakeLink) Enqueue(b []byte) bool  { _ = f.Send(b); return true }
func (f *fakeLink) Flush()                 {}
func (f *fakeLink) Close(conn.CloseReason) { f.mu.Lock(); f.closed = true; f.mu.Unlock() }
func (f *fakeLink) SetCloseHandler(fn func(conn.CloseReason)) {
	f.mu.Lock()
	f.onCl = fn
	f.mu.Unlock()
}
func (f *fakeLink) RemoteAddr() string { return "127.0.0.1:1" }
func (f *fakeLink) last() *conn.Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resps[len(f.resps)-1]
}

type nopHandler struct{}

func (nopHandler) OnOpen(*Session)                    {}
func (nopHandler) OnMessage(*Session, []byte, bool)   {}
func (nopHandler) OnClose(*Session, conn.CloseReason) {}

func get(sid string) *conn.Request {
	q := url.Values{"EIO": {"4"}, "transport": {"polling"}}
	if sid != "" {
		q.Set("sid", sid)
	}
	return &conn.Request{Method: "GET", Query: q}
}

func body(r *conn.Response) string {
	var b strings.Builder
	for _, p := range r.Body {
		b.Write(p)
	}
	return b.String()
}

func handshake(t *testing.T, e *EngineServer) string {
	t.Helper()
	l := &fakeLink{}
	e.ServeRequest(get(""), l)
	b := body(l.last())
	i := strings.Index(b, `"sid":"`)
	return b[i+7 : i+7+strings.Index(b[i+7:], `"`)]
}

// A deliberate server close with packets queued and no GET waiting: the next GET still gets
// those packets and the close packet instead of 400.
func TestServerCloseDeliversFinalPacketsToTheNextGET(t *testing.T) {
	e := NewEngine(EngineConfig{}, nopHandler{})
	sid := handshake(t, e)
	s := e.lookup(sid)
	s.SendText([]byte(`42["pushgate:close",{"reason":"stream-deleted"}]`))
	s.Close(conn.ReasonServerClose)
	l := &fakeLink{}
	e.ServeRequest(get(sid), l)
	if r := l.last(); r.Status != 200 || body(r) != "42[\"pushgate:close\",{\"reason\":\"stream-deleted\"}]\x1e1" {
		t.Fatalf("late GET: %d %q", r.Status, body(r))
	}
	l2 := &fakeLink{}
	e.ServeRequest(get(sid), l2)
	if r := l2.last(); r.Status != 400 {
		t.Fatalf("second GET after close: %d", r.Status)
	}
}

// A dead peer (ping timeout) gets no grace: the reference answers 400.
func TestPingTimeoutGetsNoGrace(t *testing.T) {
	e := NewEngine(EngineConfig{PingInterval: 20 * time.Millisecond, PingTimeout: 20 * time.Millisecond}, nopHandler{})
	sid := handshake(t, e)
	waitfor.True(t, 2*time.Second, "the session closed by the ping timeout", func() bool {
		s := e.lookup(sid)
		return s == nil || s.closedForTest()
	})
	l := &fakeLink{}
	e.ServeRequest(get(sid), l)
	if r := l.last(); r.Status != 400 {
		t.Fatalf("GET after ping timeout: %d %q", r.Status, body(r))
	}
}

func (s *Session) closedForTest() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// A client close (POST "1") racing its own last GET: that GET gets a noop, not 400.
func TestClientCloseRacingGETGetsNoop(t *testing.T) {
	e := NewEngine(EngineConfig{}, nopHandler{})
	sid := handshake(t, e)
	post := get(sid)
	post.Method, post.Body = "POST", []byte("1")
	pl := &fakeLink{}
	e.ServeRequest(post, pl)
	l := &fakeLink{}
	e.ServeRequest(get(sid), l)
	if r := l.last(); r.Status != 200 || body(r) != "6" {
		t.Fatalf("racing GET: %d %q", r.Status, body(r))
	}
}

// Two GETs at once: the second is refused, the first gets a close packet, the session ends.
func TestDuplicateGETClosesTheSession(t *testing.T) {
	e := NewEngine(EngineConfig{}, nopHandler{})
	sid := handshake(t, e)
	first, second := &fakeLink{}, &fakeLink{}
	e.ServeRequest(get(sid), first)
	e.ServeRequest(get(sid), second)
	if r := second.last(); r.Status != 400 {
		t.Fatalf("second GET: %d", r.Status)
	}
	if r := first.last(); body(r) != "1" {
		t.Fatalf("first GET: %q", body(r))
	}
}

// eagerLink is a client that POSTs its first packet the moment it reads the handshake, before
// the server's handshake call has returned (another connection, another goroutine in life).
type eagerLink struct {
	fakeLink
	e    *EngineServer
	post string
}

func (l *eagerLink) Respond(r *conn.Response) {
	l.fakeLink.Respond(r)
	b := body(r)
	i := strings.Index(b, `"sid":"`)
	sid := b[i+7 : i+7+strings.Index(b[i+7:], `"`)]
	q := url.Values{"EIO": {"4"}, "transport": {"polling"}, "sid": {sid}}
	l.e.ServeRequest(&conn.Request{Method: "POST", Query: q, Body: []byte(l.post)}, &fakeLink{})
}

type recordingHandler struct {
	mu     sync.Mutex
	opened bool
	early  int // messages before OnOpen
	msgs   []string
}

func (h *recordingHandler) OnOpen(*Session) { h.mu.Lock(); h.opened = true; h.mu.Unlock() }
func (h *recordingHandler) OnMessage(_ *Session, b []byte, _ bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.opened {
		h.early++
	}
	h.msgs = append(h.msgs, string(b))
}
func (h *recordingHandler) OnClose(*Session, conn.CloseReason) {}

// A packet POSTed as soon as the client has the handshake reaches an opened session (it was
// dropped by the Socket.IO layer when it arrived before OnOpen).
func TestPacketsRightAfterTheHandshakeFindTheSessionOpen(t *testing.T) {
	h := &recordingHandler{}
	e := NewEngine(EngineConfig{}, h)
	l := &eagerLink{e: e, post: "40/demo,{}"}
	e.ServeRequest(get(""), l)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.early != 0 || len(h.msgs) != 1 || h.msgs[0] != "0/demo,{}" {
		t.Fatalf("messages %q, %d of them before OnOpen", h.msgs, h.early)
	}
}

// MaxInboundRate admits one second's worth of packets at once, then closes the session.
func TestInboundRateLimit(t *testing.T) {
	e := NewEngine(EngineConfig{MaxInboundRate: 10}, nopHandler{})
	s := e.lookup(handshake(t, e))
	admitted := 0
	for i := 0; i < 20 && s.admitInbound(); i++ {
		admitted++
	}
	if admitted != 11 { // packets at now, now+100ms, …, now+1s
		t.Fatalf("admitted %d packets in a burst at 10/s, want 11", admitted)
	}
	if err := s.onPacket(engineioMessage("x"), nil); err != errSessionEnded {
		t.Fatalf("packet above the rate: %v, want the session ended", err)
	}
	if e.RateLimited.Load() != 1 || e.lookup(s.ID) != nil {
		t.Fatalf("rate-limited = %d, session still registered: %v", e.RateLimited.Load(), e.lookup(s.ID) != nil)
	}
	unlimited := NewEngine(EngineConfig{}, nopHandler{})
	u := unlimited.lookup(handshake(t, unlimited))
	for i := 0; i < 10000; i++ {
		if !u.admitInbound() {
			t.Fatalf("no limit configured, packet %d refused", i)
		}
	}
}

func engineioMessage(s string) engineio.Packet {
	return engineio.Packet{Type: engineio.PacketMessage, Data: []byte(s)}
}

// Packets that keep arriving after the session was closed for its rate count no further closes.
func TestInboundRateLimitCountsOnce(t *testing.T) {
	e := NewEngine(EngineConfig{MaxInboundRate: 1}, nopHandler{})
	s := e.lookup(handshake(t, e))
	for i := 0; i < 10; i++ {
		_ = s.onPacket(engineioMessage("x"), nil)
	}
	if n := e.RateLimited.Load(); n != 1 {
		t.Fatalf("rate-limited closes = %d for one session, want 1", n)
	}
}

type farewellHandler struct{ nopHandler }

func (farewellHandler) Farewell(s *Session, reason conn.CloseReason) {
	s.SendText([]byte(`42["bye",{"reason":"` + string(reason) + `"}]`))
}

// A polling client closed for its rate gets the farewell and the close on its next GET.
func TestRateLimitedPollingClientGetsTheFarewell(t *testing.T) {
	e := NewEngine(EngineConfig{MaxInboundRate: 1}, farewellHandler{})
	sid := handshake(t, e)
	s := e.lookup(sid)
	for i := 0; i < 5; i++ {
		_ = s.onPacket(engineioMessage("x"), nil)
	}
	l := &fakeLink{}
	e.ServeRequest(get(sid), l)
	if r := l.last(); r.Status != 200 || body(r) != "42[\"bye\",{\"reason\":\"rate-limited\"}]\x1e1" {
		t.Fatalf("GET after the rate limit: %d %q", r.Status, body(r))
	}
	if n := e.RateLimited.Load(); n != 1 {
		t.Fatalf("rate-limited = %d, want 1", n)
	}
}
