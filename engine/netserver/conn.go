package netserver

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/gobwas/ws"
	"github.com/pushgate/pushgate/engine/conn"
)

type mode uint8

const (
	modeHTTP   mode = iota // reading request heads and bodies
	modeWS                 // reading WebSocket frames
	modeStream             // one-way response stream (SSE): input discarded
	modeClosed
)

// Conn is one client connection. Its read side is driven by netpoll (calls for one connection
// are serialised by netpoll's processing lock), its write side by whoever sends (see writer.go).
type Conn struct {
	srv      *Server
	nc       netpoll.Connection
	fd       int
	remote   string
	ip       string
	admitted bool // counted by the per-IP admission table

	// Read side: touched only from onReadable (serialised per connection).
	mode    mode
	in      []byte // carried-over partial input (a head, a body or a frame not yet complete)
	ws      conn.WSHandler
	msg     []byte // fragmented WebSocket message being reassembled
	msgOp   ws.OpCode
	inFrag  bool
	pending atomic.Int32 // HTTP requests served but not yet answered (long-polls)
	discard int          // body bytes still to read away after a 413

	timerMu sync.Mutex
	timer   *time.Timer // header / idle deadline in HTTP mode

	out outq

	handoff atomic.Pointer[handoff] // set when the connection moves to another process

	closeOnce    sync.Once
	closeReason  atomic.Value // conn.CloseReason
	handlerMu    sync.Mutex
	closeHandler func(conn.CloseReason)
}

func newConn(s *Server, nc netpoll.Connection, remote string) *Conn {
	c := &Conn{srv: s, nc: nc, remote: remote}
	c.ip = hostOf(c.remote)
	if fc, ok := nc.(netpoll.Conn); ok {
		c.fd = fc.Fd()
	}
	c.out.cap = s.cfg.MaxPendingBytes
	c.armTimer(s.cfg.HeaderTimeout)
	return c
}

// RemoteAddr implements conn.Link.
func (c *Conn) RemoteAddr() string { return c.remote }

// SetCloseHandler implements conn.Link.
func (c *Conn) SetCloseHandler(fn func(conn.CloseReason)) {
	c.handlerMu.Lock()
	c.closeHandler = fn
	c.handlerMu.Unlock()
}

// Close implements conn.Link: flush what is queued (non-blocking), then close.
func (c *Conn) Close(reason conn.CloseReason) {
	c.closeReason.CompareAndSwap(nil, reason)
	c.Flush()
	_ = c.nc.Close()
}

// closeNow closes without flushing (slow consumers, protocol errors on a full queue).
func (c *Conn) closeNow(reason conn.CloseReason) {
	c.closeReason.CompareAndSwap(nil, reason)
	_ = c.nc.Close()
}

// onNetpollClose runs (once) before netpoll closes the file descriptor: after it returns no
// writer may touch c.fd again, because the number can be reused by the next accepted socket.
func (c *Conn) onNetpollClose(netpoll.Connection) error {
	c.closeOnce.Do(func() {
		c.out.shut(c)
		c.srv.poller.forget(c)
		c.stopTimer()
		c.srv.forget(c)
		if h := c.handoff.Load(); h != nil {
			c.finishHandOff(h)
		}
		reason, _ := c.closeReason.Load().(conn.CloseReason)
		if reason == "" {
			reason = conn.ReasonTransportClose
		}
		c.handlerMu.Lock()
		h := c.closeHandler
		c.closeHandler = nil
		c.handlerMu.Unlock()
		if h == nil && c.ws == nil {
			return
		}
		// netpoll may run this callback inside Close() on the caller's goroutine, which can hold
		// a session lock: the handlers run on their own goroutine so they may take any lock.
		go func() {
			if h != nil {
				h(reason)
			}
			if c.ws != nil {
				c.ws.OnClose(c, reason)
			}
		}()
	})
	return nil
}

func (c *Conn) armTimer(d time.Duration) {
	c.timerMu.Lock()
	defer c.timerMu.Unlock()
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.onTimer)
		return
	}
	c.timer.Reset(d)
}

// stopTimer stops and drops the header/idle timer: a WebSocket or SSE connection never needs it
// again, and an idle connection should not keep one alive.
func (c *Conn) stopTimer() {
	c.timerMu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.timerMu.Unlock()
}

// onTimer enforces the header timeout (a partial head) and the keep-alive idle timeout (no
// request in flight). A connection holding a long-poll is not idle.
func (c *Conn) onTimer() {
	if c.pending.Load() > 0 {
		c.armTimer(c.srv.cfg.IdleTimeout)
		return
	}
	c.srv.Stats.HeaderTimeouts.Add(1)
	c.closeNow(conn.ReasonHeaderTimeout)
}

// onReadable consumes everything netpoll has buffered (netpoll is level-triggered: leaving input
// unread would make it call us again at once). Incomplete units are copied to c.in, whose size
// is bounded by the head, body and message limits.
func (c *Conn) onReadable() {
	r := c.nc.Reader()
	n := r.Len()
	if n == 0 {
		return
	}
	b, err := r.Next(n)
	if err != nil {
		c.closeNow(conn.ReasonTransportClose)
		return
	}
	c.processInput(b)
	_ = r.Release()
}

// processInput processes newly read bytes b after what c.in carries over.
func (c *Conn) processInput(b []byte) {
	data := b
	if len(c.in) > 0 {
		c.in = append(c.in, b...)
		data = c.in
	}
	used := c.process(data)
	rest := data[used:]
	switch {
	case c.mode == modeClosed:
		c.in = nil
	case len(rest) == 0:
		c.in = nil // an idle connection keeps no buffer; partial input is the rare case
	case len(c.in) > 0 && &rest[0] == &c.in[used]:
		c.in = c.in[:copy(c.in, rest)]
	default:
		c.in = append(c.in[:0], rest...)
	}
}

// process consumes complete units from data and returns how many bytes it used.
func (c *Conn) process(data []byte) int {
	used := 0
	for used < len(data) {
		var n int
		switch c.mode {
		case modeHTTP:
			n = c.processHTTP(data[used:])
		case modeWS:
			n = c.processWS(data[used:])
		default:
			return len(data) // stream or closed: input is discarded
		}
		if n == 0 {
			break
		}
		used += n
	}
	return used
}
