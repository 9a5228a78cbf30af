package engine_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// halfOpenEnv makes the test binary a dialer (see TestMain): it opens the given number of
// sockets to an address, never writes, and holds them until its stdin closes. The sockets live
// in a second process because one process may hold at most ~20,000 file descriptors and the
// server's 10,000 ends already count against the test process.
const halfOpenEnv = "PUSHGATE_TEST_HALF_OPEN"

func TestMain(m *testing.M) {
	if spec := os.Getenv(halfOpenEnv); spec != "" {
		os.Exit(holdHalfOpen(spec))
	}
	os.Exit(m.Run())
}

// holdHalfOpen runs in the child: spec is "addr count".
func holdHalfOpen(spec string) int {
	addr, count, _ := strings.Cut(spec, " ")
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Fprintln(os.Stderr, "half-open dialer: bad count:", err)
		return 2
	}
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			fmt.Fprintf(os.Stderr, "half-open dialer: dial %d: %v\n", len(conns), err)
			return 1
		}
		conns = append(conns, c)
	}
	fmt.Println("ready", len(conns))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// 10,000 half-open sockets (connected, never sending a byte) are held at once at the cost of no
// goroutine each, and all are closed by the header timeout; goroutines return to the baseline.
func TestHalfOpenSocketsAreReaped(t *testing.T) {
	const n = 10_000
	const headerTimeout = 8 * time.Second // all 10,000 must be open before the first is reaped
	srv, _, _ := startServer(t, engine.Config{HeaderTimeout: headerTimeout})
	base := runtime.NumGoroutine()

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", halfOpenEnv, srv.Addr(), n))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = child.Wait()
	})
	start := time.Now()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != fmt.Sprintf("ready %d\n", n) {
			t.Fatalf("dialer said %q", line)
		}
	case <-time.After(headerTimeout):
		t.Fatalf("the dialer did not open %d sockets within %s", n, headerTimeout)
	}
	dialed := time.Since(start)

	// All of them open at once on the server, before the first is reaped.
	peak := srv.Net.Stats.Conns.Load()
	// Accepting may lag the dialer on a loaded machine: wait until just before the first could be
	// reaped (its header timeout runs from its own accept, which is after start).
	// A timeout is reported just below, with the peak seen.
	_ = waitfor.Bool(time.Until(start.Add(headerTimeout-time.Second)), func() bool {
		peak = max(peak, srv.Net.Stats.Conns.Load())
		return peak >= n
	})
	if peak < n {
		t.Fatalf("server held %d of %d half-open sockets at once (dialled in %s)", peak, n, dialed)
	}
	if g := runtime.NumGoroutine(); g > base+50 {
		t.Fatalf("%d half-open sockets cost %d goroutines", n, g-base)
	}

	waitfor.Check(t, time.Until(start.Add(headerTimeout+10*time.Second)), func() error {
		if open := srv.Net.Stats.Conns.Load(); open != 0 {
			return fmt.Errorf("%d half-open sockets still open after the header timeout", open)
		}
		return nil
	})
	if got := srv.Net.Stats.HeaderTimeouts.Load(); got < n {
		t.Fatalf("header timeouts = %d, want %d", got, n)
	}
	waitGoroutines(t, base, 10, 5*time.Second)
	t.Logf("%d half-open sockets dialled in %s, all held at once, all reaped %s after the first dial",
		n, dialed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
