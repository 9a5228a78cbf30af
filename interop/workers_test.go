package interop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestWorkersDefaultTransports runs workers.test.mjs (socket.io-client 4.8.4, default transports)
// against `pushgate serve --workers 2`: polling requests and WebSocket upgrades that reach the
// worker not owning their session are forwarded / handed off, so every client upgrades.
func TestWorkersDefaultTransports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	node := lookTool(t, "node")
	ensureNodeModules(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	tmp := t.TempDir()
	bin := pushgateBinary(t)
	data := filepath.Join(tmp, "d") // short: Unix socket paths live under it
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	srv := startLogged(t, exec.Command(bin, "serve", "--workers", "2", "--listen", addr,
		"--data-dir", data, "--log-level", "warn", "--drain-timeout", "200ms"), "server")
	t.Cleanup(func() {
		_ = srv.cmd.Process.Kill()
		<-srv.done
	})
	url := "http://" + addr
	if !productWaitReady(t, &productServer{addr: addr, url: url, proc: srv}, 30*time.Second) {
		t.Fatalf("pushgate --workers 2 exited before it was ready: %v", srv.err)
	}
	token := productRun(t, bin, "token", "--data-dir", data, "--tenant", "demo", "--roles", quickStartRoles)

	run := exec.CommandContext(ctx, node, "--test", "--test-force-exit", "--test-reporter=spec", "workers.test.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "PUSHGATE_URL="+url, "PUSHGATE_TOKEN="+token, "NO_COLOR=1", "FORCE_COLOR=0")
	run.WaitDelay = 10 * time.Second
	p := startLogged(t, run, "node")
	<-p.done
	if p.err != nil {
		t.Fatalf("node --test workers.test.mjs: %v", p.err)
	}
}
