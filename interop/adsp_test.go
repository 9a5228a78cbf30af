package interop

// ADSP drop-in: the pushgate binary configured only by ADSP's own deployment variables
// (KEYCLOAK_ROOT_URL, DIRECTORY_URL, CLIENT_ID, CLIENT_SECRET, PORT, LOG_LEVEL, TRUSTED_PROXY)
// against stand-ins of the platform's services (engine/adsp/adsptest), and the real npm clients
// (adsp-clients.mjs) subscribing with a token from a tenant's UUID realm.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/adsp/adsptest"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// lockedLines records a process's output (logged when the test fails).
type lockedLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	return len(p), nil
}

func (l *lockedLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestADSPDropInWithNpmClients(t *testing.T) {
	t.Run("one process", func(t *testing.T) { adspDropIn(t) })
	// --workers: the parent reads the tenant service; the workers verify tokens and resolve
	// namespaces with the tenants of its snapshots.
	t.Run("workers", func(t *testing.T) { adspDropIn(t, "--workers", "2") })
}

func adspDropIn(t *testing.T, extra ...string) {
	dir, node := nodeClients(t)
	pf := adsptest.Start(t)
	tn := pf.AddTenant("Child Services")
	pf.SetDocument(tn.ID, `{"updates":{"id":"updates","name":"Updates","subscriberRoles":[],"events":[{"namespace":"case-service","name":"case-updated"}]}}`)

	port := freePort(t)
	base := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(pushgateBinary(t), append([]string{"serve", "--data-dir", t.TempDir()}, extra...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PUSHGATE_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KEYCLOAK_ROOT_URL="+pf.URL(), "DIRECTORY_URL="+pf.URL(), "CLIENT_ID="+adsptest.ClientID,
		"CLIENT_SECRET="+adsptest.ClientSecret, "PORT="+strconv.Itoa(port), "LOG_LEVEL=info", "TRUSTED_PROXY=uniquelocal")
	out := &lockedLines{}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // only the process this test started
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server output:\n%s", out)
		}
	})
	waitfor.Check(t, 30*time.Second, func() error {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return fmt.Errorf("not ready on %s (PORT fallback): %v", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("not ready on %s (PORT fallback): /readyz answered %d", base, resp.StatusCode)
		}
		return nil
	})
	log := out.String()
	if !strings.Contains(log, "PORT→--listen") || !strings.Contains(log, "KEYCLOAK_ROOT_URL→--oidc-base") ||
		!strings.Contains(log, "DIRECTORY_URL→--directory-url") || !strings.Contains(log, "TRUSTED_PROXY") ||
		strings.Contains(log, adsptest.ClientSecret) {
		t.Fatalf("start-up log does not name the fallbacks (or shows the secret):\n%s", log)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := exec.CommandContext(ctx, node, "adsp-clients.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "PUSHGATE_URL="+base, "ADSP_TOKEN="+pf.UserToken(t, tn.Realm, "user-1", []string{"stream-listener"}, nil),
		"ADSP_NAMESPACE=child-services", "ADSP_STREAM=updates", "ADSP_MARK=c-42", "NO_COLOR=1")
	stdout, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	run.Stderr = run.Stdout
	dieWithParent(run)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	done := false
	for sc.Scan() {
		line := sc.Text()
		t.Logf("node| %s", line)
		switch line {
		case "READY":
			// The event service's domain event, posted to pushgate's ingest by a core service
			// account with the event-sender role; tenantId is resolved through the tenant service.
			core := pf.Token(t, "core", "svc", map[string][]string{"urn:ads:platform:event-service": {"event-sender"}}, nil)
			body := `{"tenantId":"` + tn.ID + `","namespace":"case-service","name":"case-updated","timestamp":"2026-01-01T00:00:00Z","payload":{"case":"c-42"}}`
			req, _ := http.NewRequest(http.MethodPost, base+"/event/v1/events", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+core)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("ingest: %d", resp.StatusCode)
			}
		case "DONE":
			done = true
		}
	}
	if err := run.Wait(); err != nil || !done {
		t.Fatalf("node adsp-clients.mjs: %v (done %v)", err, done)
	}
}
