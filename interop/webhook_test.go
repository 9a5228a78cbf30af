package interop

// Webhook fault test on the real binary: a receiver that is down while 20 events are published,
// `kill -9` of pushgate with those deliveries pending, a restart with the receiver up (every
// delivery arrives, with the webhook-id it had before the crash), a secret rotation (both
// signatures), and every signature pushgate sent verified by the npm standardwebhooks package.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

type hookRequest struct {
	ID, TS, Sig string
	Body        string
	Status      int
}

// hookReceiver is a loopback HTTP receiver whose answer can be switched while it runs.
type hookReceiver struct {
	url    string
	status atomic.Int64
	mu     sync.Mutex
	got    []hookRequest
}

func startHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{}
	r.status.Store(503)
	r.url = serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		st := int(r.status.Load())
		r.mu.Lock()
		r.got = append(r.got, hookRequest{req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature"), string(b), st})
		r.mu.Unlock()
		w.WriteHeader(st)
	})) + "/hook"
	return r
}

func (r *hookReceiver) snapshot() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.got...)
}

// ids returns the distinct webhook-ids seen, and those answered 2xx.
func (r *hookReceiver) ids() (all, ok map[string]bool) {
	all, ok = map[string]bool{}, map[string]bool{}
	for _, q := range r.snapshot() {
		all[q.ID] = true
		if q.Status/100 == 2 {
			ok[q.ID] = true
		}
	}
	return all, ok
}

func TestWebhooksSurviveKill9AndVerifyWithStandardWebhooks(t *testing.T) {
	dir, node := nodeClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	tmp := t.TempDir()
	bin := pushgateBinary(t)
	dataDir := filepath.Join(tmp, "data")
	start := func() *productServer { return startWebhookServer(t, bin, dataDir, "warn") }
	srv := start()
	token := productRun(t, bin, "token", "--data-dir", dataDir, "--tenant", "demo", "--roles", quickStartRoles)
	rx := startHookReceiver(t)

	// A bad webhook is refused with the field named; a good one is accepted.
	st, body := productHTTP(t, "PATCH", srv.url+"/configuration/v2/configuration/platform/push-service", token,
		`{"operation":"UPDATE","update":{"webhooks":{"bad":{"id":"bad","name":"Bad","url":"ftp://x"}}}}`)
	if st != 400 || !strings.Contains(string(body), "webhooks.bad.url") {
		t.Fatalf("bad webhook: %d %s", st, body)
	}
	st, body = productHTTP(t, "PATCH", srv.url+"/configuration/v2/configuration/platform/push-service", token,
		`{"operation":"UPDATE","update":{"webhooks":{"rx":{"id":"rx","name":"Receiver","url":"`+rx.url+`","events":[{"namespace":"demo","name":"ping"}]}}}}`)
	if st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}
	secret := func(path string, method string) (cur, prev string) {
		st, body := productHTTP(t, method, srv.url+"/push/v1/webhooks/rx/"+path, token, "")
		var v struct{ Secret, Previous string }
		if st != 200 || json.Unmarshal(body, &v) != nil || !strings.HasPrefix(v.Secret, "whsec_") {
			t.Fatalf("%s %s: %d", method, path, st) // the body holds a secret: not logged
		}
		return v.Secret, v.Previous
	}
	s1, _ := secret("secret", "GET")
	publish := func(n int) {
		for i := 0; i < n; i++ {
			st, body := productHTTP(t, "POST", srv.url+"/event/v1/events", token,
				fmt.Sprintf(`{"namespace":"demo","name":"ping","timestamp":"2026-01-02T03:04:05Z","payload":{"i":%d}}`, i))
			if st != 200 {
				t.Fatalf("POST event: %d %s", st, body)
			}
		}
	}

	// 1. Receiver down: 20 deliveries fail at least once each, then pushgate is killed.
	publish(20)
	waitfor.True(t, 30*time.Second, "20 pending deliveries, failed attempts", func() bool {
		_, m := productHTTP(t, "GET", srv.url+"/metrics", "", "")
		return strings.Contains(string(m), "\npushgate_webhook_pending 20\n") && len(rx.snapshot()) >= 5
	})
	before, _ := rx.ids()
	if err := srv.proc.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	<-srv.proc.done

	// 2. Receiver up, pushgate restarted on the same data directory: all 20 arrive, same ids.
	rx.status.Store(200)
	srv = start()
	// The development issuer's base holds the port, which changed: a new token.
	token = productRun(t, bin, "token", "--data-dir", dataDir, "--tenant", "demo", "--roles", quickStartRoles)
	waitfor.True(t, 30*time.Second, "all 20 deliveries answered 2xx", func() bool { _, ok := rx.ids(); return len(ok) == 20 })
	all, ok := rx.ids()
	for id := range before {
		if !ok[id] {
			t.Fatalf("delivery %s, attempted before the kill, was not delivered after it with the same webhook-id", id)
		}
	}
	t.Logf("%d webhook-ids attempted before the kill -9, all delivered after the restart", len(before))
	if len(all) != 20 {
		t.Fatalf("%d distinct webhook-ids, want 20", len(all))
	}
	firstPhase := len(rx.snapshot())

	// 3. Rotation: both the new and the previous secret sign during the overlap.
	s2, prev := secret("secret/rotate", "POST")
	if s2 == s1 || prev != s1 {
		t.Fatal("rotation did not keep the previous secret")
	}
	publish(5)
	waitfor.True(t, 30*time.Second, "5 more deliveries", func() bool { _, ok := rx.ids(); return len(ok) == 25 })

	// 4. Every request pushgate sent, verified by the standardwebhooks package.
	type vcase struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
		Expect  bool              `json:"expect"`
	}
	var cases []vcase
	reqs := rx.snapshot()
	for i, q := range reqs {
		h := map[string]string{"webhook-id": q.ID, "webhook-timestamp": q.TS, "webhook-signature": q.Sig}
		cases = append(cases, vcase{s1, h, q.Body, true})
		if i >= firstPhase {
			cases = append(cases, vcase{s2, h, q.Body, true})
		}
	}
	// The verifier is not vacuous: a changed body fails.
	q := reqs[len(reqs)-1]
	cases = append(cases, vcase{s2, map[string]string{"webhook-id": q.ID, "webhook-timestamp": q.TS, "webhook-signature": q.Sig}, q.Body + " ", false})
	in, _ := json.Marshal(map[string]any{"cases": cases})
	cmd := exec.CommandContext(ctx, node, "webhook-verify.mjs")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("standardwebhooks verification failed: %v\n%s", err, out)
	}
	t.Logf("standardwebhooks: %s (%d requests, %d after the rotation)", strings.TrimSpace(string(out)), len(reqs), len(reqs)-firstPhase)
	if !strings.Contains(string(out), fmt.Sprintf(`"checked":%d`, len(cases))) {
		t.Fatalf("verifier output %s", out)
	}
	// The body is ADSP's (tenantId as the AdspId object).
	var b struct {
		TenantID struct{ Type, Service, Resource string } `json:"tenantId"`
		Payload  map[string]any                           `json:"payload"`
	}
	if err := json.Unmarshal([]byte(q.Body), &b); err != nil || b.TenantID.Service != "tenant-service" || !strings.HasPrefix(b.TenantID.Resource, "/tenants/") {
		t.Fatalf("body %s", q.Body)
	}
}
