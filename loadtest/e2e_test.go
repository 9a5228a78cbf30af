package loadtest

import (
	"bufio"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/loadtest/client"
	"github.com/pushgate/pushgate/loadtest/runner"
)

// startFixture builds cmd/pushgate and runs its conformance fixture on a free
// port with fast pings.
func startFixture(t *testing.T) netip.AddrPort {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no end-to-end run against the conformance fixture")
	}
	bin := filepath.Join(t.TempDir(), "pushgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pushgate")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/pushgate: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "conformance-server", "--listen", "127.0.0.1:0", "--ping-interval", "50ms", "--ping-timeout", "100ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start the fixture: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				line <- s
			}
		}
	}()
	select {
	case s := <-line:
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			t.Fatalf("fixture address %q: %v", s, err)
		}
		return ap
	case <-time.After(20 * time.Second):
		t.Fatal("fixture did not report its address in 20 s")
	}
	return netip.AddrPort{}
}

// TestFixtureConnectAndPings: every client connects to "/" and survives
// several 50 ms ping intervals (a client that did not answer "2" with "3"
// would be closed after 150 ms).
func TestFixtureConnectAndPings(t *testing.T) {
	addr := startFixture(t)
	for _, kind := range []client.Kind{client.KindWS, client.KindUpgrade} {
		t.Run(string(kind), func(t *testing.T) {
			const n = 200
			l, err := runner.Start(runner.Config{Kind: kind, Target: addr, Conns: n, Workers: 2, Inflight: 100,
				Sources: []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")},
				Client:  client.Config{Host: addr.String(), Namespace: "/"}})
			if err != nil {
				t.Fatal(err)
			}
			<-l.Ramped()
			// Deliberate hold: the behaviour under test is surviving ping intervals.
			time.Sleep(400 * time.Millisecond)
			rs := l.Finish(nil, nil, false)
			sum := rs[len(rs)-1]
			if sum.Failed != 0 || sum.Dropped != 0 || sum.Conns != n {
				t.Fatalf("conns %d failed %d dropped %d kinds %v first %q", sum.Conns, sum.Failed, sum.Dropped, sum.ErrorKinds, sum.FirstError)
			}
			if sum.Pings < 2*n {
				t.Fatalf("pings answered %d, want ≥ %d", sum.Pings, 2*n)
			}
			if sum.Connect.Count() != n {
				t.Fatalf("connect samples %d", sum.Connect.Count())
			}
		})
	}
}
