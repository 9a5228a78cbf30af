package netloop

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pushgate/pushgate/loadtest/client"
)

// Hooks are called on the worker goroutine.
type Hooks struct {
	// Ready runs when a Conn's machine becomes client.Ready.
	Ready func(c *Conn, now int64)
	// End runs when a Conn ends before Stop (dial error, refusal, server close).
	End func(c *Conn, now int64)
	// Tick runs about every TickEvery.
	Tick func(now int64)
}

// Options configure a Worker.
type Options struct {
	Target           netip.AddrPort // server address (IPv4)
	HandshakeTimeout time.Duration  // default 10 s: dial to Ready
	TickEvery        time.Duration  // default 250 ms
	ReadBuffer       int            // default 256 KiB, shared by the worker's sockets
	Hooks            Hooks
}

// Worker is one epoll loop.
type Worker struct {
	opt   Options
	epfd  int
	evfd  int
	byFD  []*Conn
	live  int
	rbuf  []byte
	mu    sync.Mutex
	queue []*Conn
	fns   []func()
	stop  bool
	done  chan struct{}
	wake  [8]byte
}

// New creates a worker; call Run on its own goroutine.
func New(opt Options) (*Worker, error) {
	if !opt.Target.Addr().Is4() {
		return nil, fmt.Errorf("netloop: target %v is not IPv4", opt.Target)
	}
	if opt.HandshakeTimeout <= 0 {
		opt.HandshakeTimeout = 10 * time.Second
	}
	if opt.TickEvery <= 0 {
		opt.TickEvery = 250 * time.Millisecond
	}
	if opt.ReadBuffer <= 0 {
		opt.ReadBuffer = 256 << 10
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netloop: epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("netloop: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("netloop: epoll_ctl eventfd: %w", err)
	}
	w := &Worker{opt: opt, epfd: epfd, evfd: evfd, rbuf: make([]byte, opt.ReadBuffer), done: make(chan struct{})}
	w.wake[0] = 1
	return w, nil
}

// Dial queues c to be connected by this worker.
func (w *Worker) Dial(c *Conn) {
	w.mu.Lock()
	w.queue = append(w.queue, c)
	w.mu.Unlock()
	w.signal()
}

// Do runs fn on the worker goroutine (asynchronously).
func (w *Worker) Do(fn func()) {
	w.mu.Lock()
	w.fns = append(w.fns, fn)
	w.mu.Unlock()
	w.signal()
}

// Stop asks Run to close every socket and return; it waits for that.
func (w *Worker) Stop() {
	w.mu.Lock()
	w.stop = true
	w.mu.Unlock()
	w.signal()
	<-w.done
}

func (w *Worker) signal() { _, _ = unix.Write(w.evfd, w.wake[:]) }

// Live returns the number of open sockets (worker goroutine only).
func (w *Worker) Live() int { return w.live }

// Run is the event loop. It returns after Stop, having ended every Conn with
// State.End(now, nil) and closed its socket.
func (w *Worker) Run() {
	defer close(w.done)
	events := make([]unix.EpollEvent, 512)
	nextTick := time.Now().Add(w.opt.TickEvery)
	nextSweep := time.Now().Add(time.Second)
	for {
		timeout := int(time.Until(nextTick) / time.Millisecond)
		n, err := unix.EpollWait(w.epfd, events, max(timeout, 0))
		if err != nil && !errors.Is(err, unix.EINTR) {
			panic(fmt.Sprintf("netloop: epoll_wait: %v", err))
		}
		nowT := time.Now()
		now := nowT.UnixNano()
		for i := 0; i < n; i++ {
			fd := int(events[i].Fd)
			if fd == w.evfd {
				if w.control(now) {
					w.shutdown(now)
					return
				}
				continue
			}
			if fd < len(w.byFD) && w.byFD[fd] != nil {
				w.handle(w.byFD[fd], events[i].Events, now)
			}
		}
		if !nowT.Before(nextTick) {
			nextTick = nowT.Add(w.opt.TickEvery)
			if w.opt.Hooks.Tick != nil {
				w.opt.Hooks.Tick(now)
			}
		}
		if !nowT.Before(nextSweep) {
			nextSweep = nowT.Add(time.Second)
			w.sweep(now)
		}
	}
}

// control drains the eventfd and the queues; it reports whether to stop.
func (w *Worker) control(now int64) bool {
	var buf [8]byte
	_, _ = unix.Read(w.evfd, buf[:])
	w.mu.Lock()
	q, fns, stop := w.queue, w.fns, w.stop
	w.queue, w.fns = nil, nil
	w.mu.Unlock()
	for _, c := range q {
		c.DialAt = now
		w.dial(c, now)
	}
	for _, fn := range fns {
		fn()
	}
	return stop
}

// sweep fails clients whose handshake is overdue.
func (w *Worker) sweep(now int64) {
	limit := int64(w.opt.HandshakeTimeout)
	for _, c := range w.byFD {
		if c != nil && c.M.State().Phase == client.Handshaking && now-c.DialAt > limit {
			w.end(c, now, fmt.Errorf("%w after %v", ErrHandshakeTimeout, w.opt.HandshakeTimeout))
		}
	}
}

// shutdown closes everything at the end of the run.
func (w *Worker) shutdown(now int64) {
	for fd, c := range w.byFD {
		if c == nil {
			continue
		}
		c.M.State().End(now, nil)
		w.closeFD(c)
		w.byFD[fd] = nil
	}
	unix.Close(w.epfd)
	unix.Close(w.evfd)
}
