package cluster

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// With --workers, stream documents still come from --configuration-service-url: the parent's
// control half reads them and every worker's snapshot carries them (the parent used to ignore
// the flag and the workers skipped it, so configuration-service streams were 404 on every worker).
func TestProcessesConfigurationService(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	var reads atomic.Int64
	cs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/configuration/v2/configuration/platform/push-service/latest" {
			http.NotFound(w, r)
			return
		}
		reads.Add(1)
		if r.URL.Query().Get("tenantId") == "" {
			_, _ = w.Write([]byte(`{}`))
			return
		}
		_, _ = w.Write([]byte(`{"remote":{"id":"remote","name":"Remote","publicSubscribe":true,"subscriberRoles":[],"events":[{"namespace":"n","name":"e"}]}}`))
	}))
	t.Cleanup(cs.Close)

	dir := t.TempDir()
	bin := buildPushgate(t, dir)
	addr := freeAddr(t)
	var logs syncBuffer
	parent := exec.Command(bin, "serve", "--workers", "2", "--listen", addr, "--data-dir", filepath.Join(dir, "d"),
		"--drain-timeout", "200ms", "--configuration-service-url", cs.URL)
	parent.Stdout, parent.Stderr = &logs, &logs
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = parent.Process.Signal(syscall.SIGKILL)
		_ = parent.Wait()
		if t.Failed() {
			t.Logf("process logs:\n%s", logs.String())
		}
	})
	// Fresh connections land on both workers (SO_REUSEPORT); each must know the remote stream.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	served := 0
	waitfor.Check(t, 20*time.Second, func() error {
		resp, err := c.Get("http://" + addr + "/stream/v1/streams/remote?tenant=demo")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			served = 0
			return fmt.Errorf("SSE on a configuration-service stream: %d (service read %d times)", resp.StatusCode, reads.Load())
		}
		if served++; served < 20 {
			return fmt.Errorf("only %d in a row", served)
		}
		return nil
	})
}
