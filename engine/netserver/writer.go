package netserver

import (
	"errors"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"golang.org/x/sys/unix"
)

// ErrClosed is returned by Send on a closed connection.
var ErrClosed = errors.New("netserver: connection closed")

// ErrSlowConsumer is returned by Send when the connection's queue is over its byte cap; the
// connection has been closed.
var ErrSlowConsumer = errors.New("netserver: slow consumer")

// maxIovecs bounds one writev (IOV_MAX is 1024 on Linux).
const maxIovecs = 256

// outq is a connection's bounded outbound queue: references to immutable byte slices (often
// shared by thousands of connections), flushed with writev by one writer at a time, never
// holding mu across the syscall.
type outq struct {
	mu        sync.Mutex
	bufs      [][]byte
	n         int // queued bytes
	cap       int
	closed    bool
	stalled   bool  // waiting for EPOLLOUT
	stalledAt int64 // unix nanos

	wmu sync.Mutex // the writer token, also held by shut so the fd is never written after close
}

// Send implements conn.Link.
func (c *Conn) Send(bufs ...[]byte) error {
	if err := c.enqueue(bufs...); err != nil {
		return err
	}
	c.Flush()
	return nil
}

// Enqueue implements conn.Link.
func (c *Conn) Enqueue(b []byte) bool {
	return c.enqueue(b) == nil
}

// EnqueueOutcome is Enqueue telling a refusal's cause: the queue passed its cap (the connection is
// closing as a slow consumer) or the connection was closed already.
func (c *Conn) EnqueueOutcome(b []byte) conn.Outcome {
	switch err := c.enqueue(b); {
	case err == nil:
		return conn.Queued
	case errors.Is(err, ErrSlowConsumer):
		return conn.DroppedSlow
	default:
		return conn.DroppedClosed
	}
}

func (c *Conn) enqueue(bufs ...[]byte) error {
	q := &c.out
	size := 0
	for _, b := range bufs {
		size += len(b)
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.n+size > q.cap {
		q.mu.Unlock()
		c.srv.Stats.SlowConsumers.Add(1)
		c.closeNow(conn.ReasonSlowConsumer)
		return ErrSlowConsumer
	}
	for _, b := range bufs {
		if len(b) > 0 {
			q.bufs = append(q.bufs, b)
		}
	}
	q.n += size
	q.mu.Unlock()
	return nil
}

// Flush implements conn.Link: write what is queued unless another goroutine is already
// writing (it re-checks the queue after it finishes) or the socket is full (the write poller
// resumes when it drains).
func (c *Conn) Flush() {
	q := &c.out
	for {
		if !q.wmu.TryLock() {
			return
		}
		failed := c.drain()
		q.wmu.Unlock()
		if failed {
			// Close only after releasing wmu: netpoll may run the close callback (which takes
			// wmu) synchronously inside Close.
			c.closeNow(conn.ReasonTransportClose)
			return
		}
		q.mu.Lock()
		more := len(q.bufs) > 0 && !q.stalled && !q.closed
		q.mu.Unlock()
		if !more {
			return
		}
	}
}

// drain writes until the queue is empty or the socket would block, and reports whether the
// socket failed (the caller closes the connection after releasing wmu). Caller holds wmu.
func (c *Conn) drain() (failed bool) {
	q := &c.out
	for {
		q.mu.Lock()
		if q.closed || q.stalled || len(q.bufs) == 0 {
			q.mu.Unlock()
			return false
		}
		batch := q.bufs
		if len(batch) > maxIovecs {
			batch = batch[:maxIovecs]
		}
		q.mu.Unlock()

		var n int
		var err error
		if len(batch) == 1 {
			n, err = unix.Write(c.fd, batch[0]) // the common fan-out case: no iovec array
		} else {
			n, err = unix.Writev(c.fd, batch)
		}
		c.srv.Stats.WriteSyscalls.Add(1)

		q.mu.Lock()
		if n > 0 {
			c.consume(n)
		}
		switch {
		case err == nil:
			q.mu.Unlock()
		case errors.Is(err, unix.EAGAIN):
			q.stalled = true
			q.stalledAt = time.Now().UnixNano()
			q.mu.Unlock()
			c.srv.poller.watch(c)
			return false
		case errors.Is(err, unix.EINTR):
			q.mu.Unlock()
		default:
			q.mu.Unlock()
			return true
		}
	}
}

// consume drops n written bytes from the front of the queue. Caller holds mu.
func (c *Conn) consume(n int) {
	q := &c.out
	q.n -= n
	i := 0
	for i < len(q.bufs) && n >= len(q.bufs[i]) {
		n -= len(q.bufs[i])
		q.bufs[i] = nil
		i++
	}
	if i < len(q.bufs) && n > 0 {
		q.bufs[i] = q.bufs[i][n:]
	}
	rest := q.bufs[i:]
	if len(rest) == 0 {
		if cap(q.bufs) > 64 {
			q.bufs = nil // a burst grew it; do not keep the array on an idle connection
		} else {
			q.bufs = q.bufs[:0]
		}
		return
	}
	q.bufs = append(q.bufs[:0], rest...)
}

// shut marks the queue closed and drops its references; after it returns nothing writes c.fd.
func (q *outq) shut(c *Conn) {
	q.wmu.Lock()
	q.mu.Lock()
	q.closed = true
	q.bufs, q.n = nil, 0
	q.mu.Unlock()
	q.wmu.Unlock()
}

// Pending returns the queued byte count.
func (c *Conn) Pending() int {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.n
}

// writePoller waits for stalled sockets to become writable (EPOLLOUT, one-shot) on its own epoll
// instance, resumes their flush, and closes those stalled longer than the write timeout.
type writePoller struct {
	srv  *Server
	epfd int
	mu   sync.Mutex
	byFD map[int]*Conn
	quit chan struct{}
	once sync.Once
}

func newWritePoller(s *Server) (*writePoller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &writePoller{srv: s, epfd: fd, byFD: make(map[int]*Conn), quit: make(chan struct{})}, nil
}

func (p *writePoller) watch(c *Conn) {
	p.mu.Lock()
	p.byFD[c.fd] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLONESHOT, Fd: int32(c.fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, c.fd, &ev); errors.Is(err, unix.EEXIST) {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev)
	}
}

// forget runs from the connection's close callback, before the fd is closed.
func (p *writePoller) forget(c *Conn) {
	p.mu.Lock()
	if p.byFD[c.fd] == c {
		delete(p.byFD, c.fd)
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	}
	p.mu.Unlock()
}

func (p *writePoller) run() {
	events := make([]unix.EpollEvent, 128)
	lastSweep := time.Now()
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		n, err := unix.EpollWait(p.epfd, events, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		for i := 0; i < n; i++ {
			p.mu.Lock()
			c := p.byFD[int(events[i].Fd)]
			delete(p.byFD, int(events[i].Fd))
			p.mu.Unlock()
			if c == nil {
				continue
			}
			c.out.mu.Lock()
			c.out.stalled = false
			c.out.mu.Unlock()
			c.Flush()
		}
		if time.Since(lastSweep) >= 100*time.Millisecond {
			lastSweep = time.Now()
			p.sweep()
		}
	}
}

// sweep closes connections stalled longer than the write timeout.
func (p *writePoller) sweep() {
	deadline := time.Now().Add(-p.srv.cfg.WriteTimeout).UnixNano()
	var expired []*Conn
	p.mu.Lock()
	for _, c := range p.byFD {
		c.out.mu.Lock()
		if c.out.stalled && c.out.stalledAt < deadline {
			expired = append(expired, c)
		}
		c.out.mu.Unlock()
	}
	p.mu.Unlock()
	for _, c := range expired {
		p.srv.Stats.WriteTimeouts.Add(1)
		c.closeNow(conn.ReasonWriteTimeout)
	}
}

func (p *writePoller) close() {
	p.once.Do(func() {
		close(p.quit)
		_ = unix.Close(p.epfd)
	})
}

// QueuedBytes is the number of bytes queued for the connection and not written yet.
func (c *Conn) QueuedBytes() int {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.n
}
