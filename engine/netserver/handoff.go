package netserver

import (
	"context"
	"fmt"

	"github.com/cloudwego/netpoll"
	"github.com/pushgate/pushgate/engine/conn"
	"golang.org/x/sys/unix"
)

// handoff is a connection on its way to another process (Conn.HandOff).
type handoff struct {
	send     func(fd int) error
	fallback *conn.Response
}

// HandOff implements conn.Handoff. It is called while the connection's only request is
// being served (a WebSocket upgrade, on the event loop): nothing has been written to the client
// and nothing else was read, so the receiver can serve the same request bytes as if it had
// accepted the connection. The descriptor is passed only from the close callback, after netpoll
// has removed it from its poller: were it passed earlier, this process could still read (and
// lose) the first frames the client sends once the receiver has answered.
func (c *Conn) HandOff(send func(fd int) error, fallback *conn.Response) bool {
	if c.fd <= 0 || c.mode != modeHTTP || c.ws != nil || c.pending.Load() != 1 || c.Pending() != 0 {
		return false
	}
	c.handoff.Store(&handoff{send: send, fallback: fallback})
	c.pending.Add(-1)
	c.mode = modeClosed
	c.closeNow(conn.ReasonHandedOff)
	return true
}

// finishHandOff runs in the close callback: netpoll no longer polls c.fd and closes its copy
// right after.
func (c *Conn) finishHandOff(h *handoff) {
	if err := h.send(c.fd); err != nil {
		c.srv.log.Warn("connection handoff failed", "remote", c.remote, "err", err)
		// Best effort on a socket nobody else holds: the answer is small and the send buffer empty.
		_, _ = unix.Writev(c.fd, appendResponse(h.fallback))
		return
	}
	c.srv.Stats.HandedOff.Add(1)
}

// Adopt serves a connection another process handed off: fd is this process's descriptor for it,
// remote the client's address and head the request bytes the other process read (served here
// first, as if just received). The connection then lives on this server's event loop like an
// accepted one, without admission checks (it was admitted where it was accepted). On error
// fd is closed.
func (s *Server) Adopt(fd int, remote string, head []byte) error {
	nc, err := netpoll.NewFDConnection(fd)
	if err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("netserver: adopt connection from %s: %w", remote, err)
	}
	c := newConn(s, nc, remote)
	s.Stats.Adopted.Add(1)
	s.Stats.Conns.Add(1)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	_ = nc.AddCloseCallback(c.onNetpollClose)
	// The client waits for the answer to head before it sends anything, so nothing races with
	// this call; bytes that arrive before the handler is set stay in netpoll's buffer and are
	// handed to it at once (netpoll SetOnRequest).
	c.processInput(head)
	if err := nc.SetOnRequest(func(context.Context, netpoll.Connection) error {
		c.onReadable()
		return nil
	}); err != nil {
		c.closeNow(conn.ReasonServerClose)
		return fmt.Errorf("netserver: adopt connection from %s: %w", remote, err)
	}
	return nil
}
