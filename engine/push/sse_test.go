package push

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
)

const testTenant = "urn:ads:platform:tenant-service:v2:/tenants/aaaaaaaaaaaaaaaaaaaaaaaa"

// wireLink records what a connection would put on the wire, in order. Respond can be held
// (hold) to widen the window between a stream's registration and its response head.
type wireLink struct {
	mu       sync.Mutex
	wire     []string
	closed   bool
	onClose  func(conn.CloseReason)
	entered  chan struct{} // closed when Respond starts
	hold     chan struct{} // Respond waits for it when non-nil
	enterOne sync.Once
}

func newWireLink(hold bool) *wireLink {
	l := &wireLink{entered: make(chan struct{})}
	if hold {
		l.hold = make(chan struct{})
	}
	return l
}

func (l *wireLink) write(s string) {
	l.mu.Lock()
	l.wire = append(l.wire, s)
	l.mu.Unlock()
}

func (l *wireLink) Respond(r *conn.Response) {
	l.enterOne.Do(func() { close(l.entered) })
	if l.hold != nil {
		<-l.hold
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 ")
	b.WriteString(strconv.Itoa(r.Status))
	b.WriteString("\r\n\r\n")
	for _, p := range r.Body {
		b.Write(p)
	}
	l.write(b.String())
}

func (l *wireLink) Send(bufs ...[]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("closed")
	}
	for _, b := range bufs {
		l.wire = append(l.wire, string(b))
	}
	return nil
}

func (l *wireLink) Enqueue(b []byte) bool { return l.Send(b) == nil }
func (l *wireLink) Flush()                {}
func (l *wireLink) RemoteAddr() string    { return "127.0.0.1:1" }

func (l *wireLink) Close(reason conn.CloseReason) {
	l.mu.Lock()
	fn := l.onClose
	l.closed, l.onClose = true, nil
	l.mu.Unlock()
	if fn != nil {
		fn(reason)
	}
}

func (l *wireLink) SetCloseHandler(fn func(conn.CloseReason)) {
	l.mu.Lock()
	l.onClose = fn
	l.mu.Unlock()
}

func (l *wireLink) written() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.wire...)
}

type oneTenant struct{}

func (oneTenant) ResolveTenant(ref string) (store.Tenant, bool) {
	if ref != "demo" {
		return store.Tenant{}, false
	}
	return store.Tenant{ID: testTenant}, true
}

// newTestSSE serves one public stream "s" of tenant "demo"; the heartbeat ticker is off (the
// tests call beat themselves).
func newTestSSE(t *testing.T) (*SSE, *hub.Hub) {
	t.Helper()
	reg, err := stream.Build(nil, map[string][]byte{testTenant: []byte(
		`{"s":{"id":"s","name":"S","publicSubscribe":true,"events":[{"namespace":"n","name":"e"}]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Config{Shards: 1}, reg)
	t.Cleanup(h.Close)
	d := &Deps{Hub: h, Tenants: oneTenant{}, Stats: &Stats{},
		Verify: func(context.Context, string) (*auth.Principal, error) { return nil, errors.New("no tokens here") }}
	s := d.NewSSE(SSEConfig{Heartbeat: -1})
	return s, h
}

func sseRequest() *conn.Request {
	return &conn.Request{Method: "GET", Path: SSEPrefix + "s", RawQuery: "tenant=demo",
		Query: map[string][]string{"tenant": {"demo"}}}
}

// A heartbeat that fires while a stream is being opened must not write before the response
// head: clients would read ": heartbeat" where "HTTP/1.1 200" belongs (a CI failure with 50
// EventSources opening as the 15 s heartbeat fired).
func TestSSEHeartbeatNeverPrecedesHead(t *testing.T) {
	s, _ := newTestSSE(t)
	l := newWireLink(true)
	done := make(chan struct{})
	go func() { s.ServeRequest(sseRequest(), l); close(done) }()
	<-l.entered
	s.beat() // the stream is registered with the hub, its head not yet written
	close(l.hold)
	<-done
	s.beat()
	got := l.written()
	if len(got) != 2 || !strings.HasPrefix(got[0], "HTTP/1.1 ") || got[1] != string(heartbeatComment) {
		t.Fatalf("wire = %q, want the response head then one heartbeat", got)
	}
	if n := s.Count(); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
}

// A connection that closes while its stream is still being opened is not left in the list of
// open streams (heartbeats and drains would keep writing to it).
func TestSSEClosedWhileOpeningIsForgotten(t *testing.T) {
	s, h := newTestSSE(t)
	l := newWireLink(true)
	done := make(chan struct{})
	go func() { s.ServeRequest(sseRequest(), l); close(done) }()
	<-l.entered
	closed := make(chan struct{})
	go func() { l.Close(conn.ReasonClientClose); close(closed) }()
	<-closed // the close handler ran while Respond is held
	close(l.hold)
	<-done
	if n := s.Count(); n != 0 {
		t.Fatalf("Count = %d after the client left, want 0", n)
	}
	if n := h.Stats.Subs.Load(); n != 0 {
		t.Fatalf("hub holds %d subscriptions after the client left, want 0", n)
	}
}
