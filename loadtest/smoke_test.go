package loadtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// TestSmokeAgainstServe is the short load run of make test: the real pushload binary against a
// real `pushgate serve` — 400 WebSocket subscribers, 10 events/s for 8 s through the ingest API —
// and every subscriber must get every event once, in order.
func TestSmokeAgainstServe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	pg, pl := filepath.Join(dir, "pushgate"), filepath.Join(dir, "pushload")
	for bin, pkg := range map[string]string{pg: "./cmd/pushgate", pl: "./loadtest/cmd/pushload"} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	srv := exec.Command(pg, "serve", "--listen", addr, "--data-dir", data, "--log-level", "warn")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	url := "http://" + addr
	waitfor.Check(t, 10*time.Second, func() error {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return fmt.Errorf("server not ready: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("server not ready: /readyz answered %d", resp.StatusCode)
		}
		return nil
	})
	tok, err := exec.Command(pg, "token", "--data-dir", data, "--tenant", "demo", "--ttl", "1h", "--roles",
		"stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin").Output()
	if err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, tok, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "result.jsonl")
	load := exec.Command(pl, "--url", url, "--token-file", tokFile, "--setup-stream", "--conns", "400", "--rate", "2000",
		"--sources", "1", "--publish-rate", "10", "--duration", "8s", "--json-out", out)
	if b, err := load.CombinedOutput(); err != nil {
		t.Fatalf("pushload: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("result line: %v", err)
		}
	}
	num := func(k string) float64 { v, _ := last[k].(float64); return v }
	t.Logf("smoke: %v deliveries, p50 %.1f ms, p99 %.1f ms", num("deliveries"), num("p50_ms"), num("p99_ms"))
	switch {
	case num("conns") != 400:
		t.Errorf("conns = %v, want 400", num("conns"))
	case num("deliveries") == 0 || num("deliveries") != num("expected"):
		t.Errorf("deliveries %v, expected %v", num("deliveries"), num("expected"))
	case num("lost") != 0 || num("dup") != 0 || num("out_of_order") != 0 || num("errors") != 0:
		t.Errorf("lost %v dup %v out_of_order %v errors %v", num("lost"), num("dup"), num("out_of_order"), num("errors"))
	}
	if t.Failed() {
		t.Log(fmt.Sprint(last))
	}
}
