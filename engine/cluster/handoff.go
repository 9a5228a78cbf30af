package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"golang.org/x/sys/unix"
)

// A WebSocket upgrade that reaches worker i for a session of worker j moves to j: i passes the
// connection's descriptor over j's handoff socket (a SOCK_SEQPACKET Unix socket, one message per
// connection: the descriptor as SCM_RIGHTS and, as data,
//
//	uvarint len(remote) | remote address | the request bytes i read
//
// ) and forgets it; j adopts the descriptor into its event loop and serves the request as if it
// had accepted the connection. The client sees one ordinary upgrade.

// maxHandoff bounds one handoff message: the request head plus the address.
const maxHandoff = 64 << 10

// HandoffSocket is worker index's handoff socket in runDir.
func HandoffSocket(runDir string, index int) string {
	return filepath.Join(runDir, "handoff-"+strconv.Itoa(index)+".sock")
}

// handoffSender keeps one connected handoff socket per target worker.
type handoffSender struct {
	dir   string
	mu    sync.Mutex
	conns map[int]*net.UnixConn
}

// send passes fd to worker j. It runs on the event loop (in the connection's close callback), so
// a peer that does not read is given 100 ms before the handoff fails and the client is answered
// "Session ID unknown", as when no handoff is possible.
func (h *handoffSender) send(j, fd int, remote string, head []byte) error {
	msg := appendHandoff(make([]byte, 0, 16+len(remote)+len(head)), remote, head)
	if len(msg) > maxHandoff {
		return fmt.Errorf("cluster: handoff of %d bytes exceeds %d", len(msg), maxHandoff)
	}
	oob := unix.UnixRights(fd)
	h.mu.Lock()
	defer h.mu.Unlock()
	var err error
	for attempt := 0; attempt < 2; attempt++ { // a kept connection may be stale (j restarted)
		c := h.conns[j]
		if c == nil {
			if c, err = dialHandoff(HandoffSocket(h.dir, j)); err != nil {
				return err
			}
			h.conns[j] = c
		}
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		var n, oobn int
		n, oobn, err = c.WriteMsgUnix(msg, oob, nil)
		if err == nil && (n != len(msg) || oobn != len(oob)) {
			err = errors.New("short write")
		}
		if err == nil {
			return nil
		}
		_ = c.Close()
		delete(h.conns, j)
	}
	return fmt.Errorf("cluster: hand off to worker %d: %w", j, err)
}

func dialHandoff(path string) (*net.UnixConn, error) {
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("cluster: dial handoff socket: %w", err)
	}
	return c, nil
}

func (h *handoffSender) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for j, c := range h.conns {
		_ = c.Close()
		delete(h.conns, j)
	}
}

// handOff moves the upgrade r on l to worker j; it reports whether l is gone (then the transport
// leaves it alone).
func (f *Forwarder) handOff(j int, r *conn.Request, l conn.Link) bool {
	h, ok := l.(conn.Handoff)
	if !ok {
		return false
	}
	// The descriptor is sent after this call returns (from the connection's close callback):
	// keep copies, not the request.
	raw, remote := append([]byte(nil), r.Raw...), r.RemoteAddr
	fallback := sessionUnknown(r.Origin)
	fallback.Close = true
	return h.HandOff(func(fd int) error {
		if err := f.handoffs.send(j, fd, remote, raw); err != nil {
			f.Failed.Add(1)
			return err
		}
		f.HandedOff.Add(1)
		return nil
	}, fallback)
}

// handoffReceiver adopts the connections other workers pass to this one.
type handoffReceiver struct {
	ln    *net.UnixListener
	adopt func(fd int, remote string, head []byte) error
	log   *slog.Logger
}

func listenHandoff(path string) (*net.UnixListener, error) {
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, fmt.Errorf("cluster: handoff socket: %w", err)
	}
	return ln, nil
}

// serve accepts the other workers' handoff connections until the listener closes.
func (r *handoffReceiver) serve() {
	for {
		c, err := r.ln.AcceptUnix()
		if err != nil {
			return
		}
		go r.read(c)
	}
}

// read adopts every connection passed over c, until c closes.
func (r *handoffReceiver) read(c *net.UnixConn) {
	defer c.Close()
	buf := make([]byte, maxHandoff)
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		fds := receivedFDs(oob[:oobn])
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(fds) != 1 {
			closeAll(fds)
			r.log.Warn("malformed connection handoff dropped", "fds", len(fds), "flags", flags)
			continue
		}
		remote, head, ok := parseHandoff(buf[:n])
		if !ok {
			closeAll(fds)
			r.log.Warn("malformed connection handoff dropped", "bytes", n)
			continue
		}
		if err := r.adopt(fds[0], remote, append([]byte(nil), head...)); err != nil {
			r.log.Warn("handed-off connection not adopted", "remote", remote, "err", err)
		}
	}
}

// appendHandoff appends the data part of a handoff message: uvarint len(remote) | remote | head.
func appendHandoff(dst []byte, remote string, head []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(remote)))
	return append(append(dst, remote...), head...)
}

// parseHandoff is the inverse of appendHandoff; ok is false for a message that is not one.
func parseHandoff(msg []byte) (remote string, head []byte, ok bool) {
	n, k := binary.Uvarint(msg)
	if k <= 0 || n > uint64(len(msg)-k) {
		return "", nil, false
	}
	return string(msg[k : k+int(n)]), msg[k+int(n):], true
}

func receivedFDs(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}
