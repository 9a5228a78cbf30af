package netserver_test

import (
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/internal/waitfor"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

// lockedCloser is a WebSocket handler that calls Link methods — Send, Close — while holding
// its own lock, which its close handler and OnClose also take: what transport does with
// Session.mu. Were netserver to run either inside the Link call (netpoll may run the close
// callback synchronously inside Close), the call would deadlock.
type lockedCloser struct {
	mu       sync.Mutex
	opened   chan struct{}
	handled  chan struct{}
	onClosed chan struct{}
}

func (h *lockedCloser) ServeRequest(*conn.Request, conn.Link) conn.WSHandler {
	return h
}

func (h *lockedCloser) OnOpen(l conn.Link) {
	l.SetCloseHandler(func(conn.CloseReason) {
		h.mu.Lock()
		close(h.handled)
		h.mu.Unlock()
	})
	// From another goroutine, as the hub or a timer would (netpoll defers the close callback
	// while it is processing the connection on the current one).
	go func() {
		h.mu.Lock()
		_ = l.Send(wsframe.AppendFrame(nil, ws.OpText, []byte("bye")))
		l.Close(conn.ReasonServerClose)
		h.mu.Unlock()
		close(h.opened)
	}()
}
func (h *lockedCloser) OnMessage(conn.Link, []byte, bool) {}
func (h *lockedCloser) OnClose(conn.Link, conn.CloseReason) {
	h.mu.Lock()
	close(h.onClosed)
	h.mu.Unlock()
}

// Link methods may be called with the caller's locks held (LOCKING.md): the close handler and
// OnClose run on their own goroutine, never inside Close.
func TestCloseHandlersRunOutsideLinkCalls(t *testing.T) {
	h := &lockedCloser{opened: make(chan struct{}), handled: make(chan struct{}), onClosed: make(chan struct{})}
	_, addr := serveOn(t, netserver.Config{}, netserver.Routes{Mounts: []netserver.Mount{{Prefix: "/", Handler: h}}})
	stalledClient(t, addr)
	for _, c := range []struct {
		what string
		ch   chan struct{}
	}{{"Close under the handler's lock", h.opened}, {"the close handler", h.handled}, {"OnClose", h.onClosed}} {
		select {
		case <-c.ch:
		case <-time.After(5 * time.Second):
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
			t.Fatalf("%s did not complete: deadlock? (stacks above)", c.what)
		}
	}
}

// stormer floods each WebSocket from two goroutines: even connections without end (closed as
// slow consumers at the byte cap), odd ones with 1 MiB and then nothing (stalled under the cap,
// closed by the write poller's sweep), every third one also closed by the server while the
// senders run.
type stormer struct {
	n     atomic.Int64
	frame []byte
}

func (s *stormer) ServeRequest(*conn.Request, conn.Link) conn.WSHandler { return s }
func (s *stormer) OnOpen(l conn.Link) {
	i := s.n.Add(1)
	limit := int64(1 << 62)
	if i%2 == 1 {
		limit = (1 << 20) / int64(len(s.frame)) / 2
	}
	for range 2 {
		go func() {
			for k := int64(0); k < limit && l.Send(s.frame) == nil; k++ {
				runtime.Gosched()
			}
		}()
	}
	if i%3 == 0 {
		go func() {
			for range 100 {
				runtime.Gosched()
			}
			l.Close(conn.ReasonServerClose)
		}()
	}
}
func (s *stormer) OnMessage(conn.Link, []byte, bool)   {}
func (s *stormer) OnClose(conn.Link, conn.CloseReason) {}

// Stalled sockets written from several goroutines, parked on the write poller, swept at the
// write timeout, closed at the byte cap and by the server, all at once: this crosses every
// netserver lock (writer token → write poller → queue; the close callback's writer token and
// the sweep's poller → queue). A reversed order deadlocks (stacks dumped), an unguarded field
// races (-race); every connection must end closed with nothing queued.
func TestStalledWritersStorm(t *testing.T) {
	srv, addr := serveOn(t, netserver.Config{MaxPendingBytes: 2 << 20, WriteTimeout: 200 * time.Millisecond, SendBuffer: 8 << 10},
		netserver.Routes{Mounts: []netserver.Mount{{Prefix: "/", Handler: &stormer{frame: wsframe.AppendFrame(nil, ws.OpBinary, make([]byte, 16<<10))}}}})
	var clients []net.Conn
	for range 12 {
		clients = append(clients, stalledClient(t, addr))
	}
	if err := waitfor.Bool(10*time.Second, func() bool {
		return srv.Stats.Accepted.Load() >= int64(len(clients)) && srv.Stats.Conns.Load() == 0
	}); err != nil {
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatalf("%d of %d connections still open after 10s: deadlock? (stacks above)", srv.Stats.Conns.Load(), len(clients))
	}
	if q := srv.QueuedBytes(); q != 0 {
		t.Fatalf("queued bytes after every close = %d", q)
	}
	if srv.Stats.SlowConsumers.Load() == 0 || srv.Stats.WriteTimeouts.Load() == 0 {
		t.Fatalf("slow-consumer closes %d, write-timeout closes %d: want both paths exercised",
			srv.Stats.SlowConsumers.Load(), srv.Stats.WriteTimeouts.Load())
	}
}
