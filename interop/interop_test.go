package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// Fixture settings shared with socketio.test.mjs (PING_INTERVAL / PING_TIMEOUT constants there).
const (
	pingInterval   = "300ms"
	pingTimeout    = "200ms"
	connectTimeout = "1s"
)

// TestSocketIOClientInterop runs socketio.test.mjs (npm socket.io-client 4.8.4) against the server under test.
//
//	go test ./interop/...                               # against pushgate conformance-server
//	INTEROP_TARGET=reference go test ./interop/...      # against the reference socket.io 4.8.4 fixture
func TestSocketIOClientInterop(t *testing.T) {
	dir, node := nodeClients(t)
	root := filepath.Dir(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	var server *exec.Cmd
	switch target := os.Getenv("INTEROP_TARGET"); target {
	case "reference":
		server = exec.Command(node, "reference-fixture.mjs")
		server.Dir = dir
		server.Env = append(os.Environ(),
			"PORT="+strconv.Itoa(port), "HOST=127.0.0.1",
			"PING_INTERVAL=300", "PING_TIMEOUT=200", "CONNECT_TIMEOUT=1000")
	case "", "pushgate":
		bin := pushgateBinary(t)
		server = exec.Command(bin, "conformance-server",
			"--listen", addr,
			"--ping-interval", pingInterval,
			"--ping-timeout", pingTimeout,
			"--connect-timeout", connectTimeout)
		server.Dir = root
	default:
		t.Fatalf("INTEROP_TARGET=%q: want empty, \"pushgate\" or \"reference\"", target)
	}

	srv := startLogged(t, server, "server")
	t.Cleanup(func() { stop(t, srv) })
	waitForPort(t, addr, srv, 30*time.Second)

	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "socketio.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PUSHGATE_URL=http://"+addr, "NO_COLOR=1", "FORCE_COLOR=0")
	cmd.WaitDelay = 10 * time.Second
	run := startLogged(t, cmd, "node")
	<-run.done
	if err := run.err; err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node --test socketio.test.mjs: timed out: %v", err)
		}
		t.Fatalf("node --test socketio.test.mjs failed against %s: %v", addr, err)
	}
}

func waitForPort(t *testing.T, addr string, server *proc, timeout time.Duration) {
	t.Helper()
	waitfor.Check(t, timeout, func() error {
		select {
		case <-server.done:
			t.Fatalf("server exited before listening on %s: %v", addr, server.err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return fmt.Errorf("server did not listen on %s within %s: %v", addr, timeout, err)
		}
		c.Close()
		return nil
	})
}

// stop kills the server process this test started (by its pid) and waits for it. A server that had
// already exited on its own is reported as an error: it must run until it is told to stop.
func stop(t *testing.T, server *proc) {
	select {
	case <-server.done:
		t.Errorf("server exited before the end of the test: %v", server.err)
		return
	default:
	}
	_ = server.cmd.Process.Kill()
	select {
	case <-server.done:
	case <-time.After(10 * time.Second):
		t.Errorf("server pid %d did not exit after kill", server.cmd.Process.Pid)
	}
}
