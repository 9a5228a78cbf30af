package netloop

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/pushgate/pushgate/loadtest/client"
)

// Errors recorded in client.State.Err by the loop itself.
var (
	ErrHandshakeTimeout = errors.New("handshake timeout")
	ErrDial             = errors.New("dial")
	ErrEOF              = errors.New("connection closed by peer")
	ErrSlowClosed       = errors.New("slow consumer closed by peer")
)

// Conn is one simulated client as the loop sees it.
type Conn struct {
	ID     uint64
	M      client.Machine
	Src    netip.Addr // source address; invalid = let the kernel choose
	Slow   bool       // stop reading once ready
	DialAt int64      // Unix nanos of the first dial
	Dials  int

	fd         int
	connecting bool
	out        []byte
	notified   bool // Ready hook ran
	ended      bool
}

const epollFlags = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

func (w *Worker) dial(c *Conn, now int64) {
	c.Dials++
	fd, err := w.socket(c)
	if err != nil {
		w.end(c, now, fmt.Errorf("%w: %v", ErrDial, err))
		return
	}
	c.fd, c.connecting = fd, true
	for fd >= len(w.byFD) {
		w.byFD = append(w.byFD, make([]*Conn, len(w.byFD)+1024)...)
	}
	w.byFD[fd] = c
	w.live++
	ev := unix.EpollEvent{Events: epollFlags, Fd: int32(fd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		w.end(c, now, fmt.Errorf("%w: epoll_ctl: %v", ErrDial, err))
	}
}

func (w *Worker) socket(c *Conn) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if c.Src.IsValid() {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: c.Src.As4()}); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("bind %v: %w", c.Src, err)
		}
	}
	sa := &unix.SockaddrInet4{Port: int(w.opt.Target.Port()), Addr: w.opt.Target.Addr().As4()}
	if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return -1, fmt.Errorf("connect %v from %v: %w", w.opt.Target, c.Src, err)
	}
	return fd, nil
}

func (w *Worker) handle(c *Conn, ev uint32, now int64) {
	if c.connecting {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soerr != 0 {
			w.end(c, now, fmt.Errorf("%w: connect %v from %v: %v", ErrDial, w.opt.Target, c.Src, unix.Errno(soerr)))
			return
		}
		c.connecting = false
		c.out = c.M.Begin(now, c.out)
	}
	if c.Slow && c.notified {
		if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			w.end(c, now, ErrSlowClosed)
		}
		return
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		if !w.read(c, now) {
			return
		}
	}
	w.flush(c, now)
}

// read drains the socket into the machine; it reports false when c ended or
// was redialled.
func (w *Worker) read(c *Conn, now int64) bool {
	for {
		n, err := unix.Read(c.fd, w.rbuf)
		switch {
		case n > 0:
			var nx client.Next
			var ferr error
			c.out, nx, ferr = c.M.Feed(now, w.rbuf[:n], c.out)
			w.checkReady(c, now)
			switch nx {
			case client.Close:
				w.flush(c, now)
				w.end(c, now, ferr)
				return false
			case client.Redial:
				w.flush(c, now)
				w.closeFD(c)
				c.out = c.out[:0]
				w.dial(c, now)
				return false
			}
			if c.Slow && c.notified {
				return true
			}
		case n == 0:
			w.end(c, now, ErrEOF)
			return false
		case errors.Is(err, unix.EAGAIN):
			return true
		case errors.Is(err, unix.EINTR):
		default:
			w.end(c, now, fmt.Errorf("read: %w", err))
			return false
		}
	}
}

func (w *Worker) flush(c *Conn, now int64) {
	for len(c.out) > 0 && !c.ended {
		n, err := unix.Write(c.fd, c.out)
		switch {
		case n > 0:
			c.out = c.out[:copy(c.out, c.out[n:])]
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EINTR):
		default:
			w.end(c, now, fmt.Errorf("write: %w", err))
			return
		}
	}
}

func (w *Worker) checkReady(c *Conn, now int64) {
	if !c.notified && c.M.State().Phase == client.Ready {
		c.notified = true
		if w.opt.Hooks.Ready != nil {
			w.opt.Hooks.Ready(c, now)
		}
	}
}

// end finishes c before Stop.
func (w *Worker) end(c *Conn, now int64, err error) {
	if c.ended {
		return
	}
	c.ended = true
	if err == nil {
		err = ErrEOF
	}
	c.M.State().End(now, err)
	w.closeFD(c)
	c.out = nil
	if w.opt.Hooks.End != nil {
		w.opt.Hooks.End(c, now)
	}
}

func (w *Worker) closeFD(c *Conn) {
	if c.fd <= 0 {
		return
	}
	if c.fd < len(w.byFD) {
		w.byFD[c.fd] = nil
	}
	unix.Close(c.fd) // also removes it from the epoll set
	c.fd = -1
	w.live--
}
