package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// TestWorkersDefaultTransports runs workers.test.mjs (socket.io-client 4.8.4, default transports)
// against `pushgate serve --workers 2`: polling requests and WebSocket upgrades that reach the
// worker not owning their session are forwarded / handed off, so every client upgrades.
func TestWorkersDefaultTransports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir, node := nodeClients(t)
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

	// Webhooks are sent by the parent (it owns the store), once per event, not once per worker.
	rx := startHookReceiver(t)
	rx.status.Store(200)
	hook := `{"operation":"UPDATE","update":{"webhooks":{"rx":{"id":"rx","name":"RX","url":"` + rx.url + `","events":[{"namespace":"wk","name":"hook"}]}}}}`
	if st, body := productHTTP(t, "PATCH", url+"/configuration/v2/configuration/platform/push-service", token, hook); st != 200 {
		t.Fatalf("PATCH webhook: %d %s", st, body)
	}
	for i := range 10 {
		body := fmt.Sprintf(`{"namespace":"wk","name":"hook","timestamp":"2026-01-02T03:04:05Z","payload":{"i":%d}}`, i)
		if st, b := productHTTP(t, "POST", url+"/event/v1/events", token, body); st != 200 {
			t.Fatalf("POST event: %d %s", st, b)
		}
	}
	waitfor.True(t, 20*time.Second, "10 webhook deliveries", func() bool { all, _ := rx.ids(); return len(all) == 10 })
	waitfor.True(t, 10*time.Second, "nothing pending", func() bool {
		_, m := productHTTP(t, "GET", url+"/metrics", "", "")
		return strings.Contains(string(m), "\npushgate_webhook_pending{worker=\"parent\"} 0\n")
	})
	if n := len(rx.snapshot()); n != 10 {
		t.Fatalf("--workers 2: %d webhook requests for 10 events, want 10", n)
	}
}
