package netserver

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// A writer that finds the socket full parks it on the write poller after releasing the queue
// lock: the poller's sweep takes writePoller.mu and then each parked connection's out.mu, so a
// writer calling watch with out.mu held would deadlock against it. The test holds
// writePoller.mu (as a sweep would), makes a writer stall, and then needs out.mu.
func TestStalledWriterReleasesQueueBeforeWatch(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
	srv := &Server{}
	p, err := newWritePoller(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	srv.poller = p
	c := &Conn{srv: srv, fd: fds[0]}
	c.out.cap = 64 << 20

	p.mu.Lock()
	sent := make(chan error, 1)
	go func() { sent <- c.Send(make([]byte, 1<<20)) }() // far more than the socket buffers
	// Holds once the writer stalled and let go of out.mu while watch waits for p.mu.
	if err := waitfor.Bool(5*time.Second, func() bool {
		if !c.out.mu.TryLock() {
			return false
		}
		stalled := c.out.stalled
		c.out.mu.Unlock()
		return stalled
	}); err != nil {
		p.mu.Unlock()
		t.Fatal("the stalled writer kept out.mu while waiting for writePoller.mu")
	}
	p.mu.Unlock()
	if err := <-sent; err != nil {
		t.Fatalf("Send on a stalled socket: %v, want nil (queued)", err)
	}
	p.mu.Lock()
	watched := p.byFD[c.fd] == c
	p.mu.Unlock()
	if !watched {
		t.Fatal("the stalled connection is not parked on the write poller")
	}
}
