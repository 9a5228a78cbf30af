package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// workerClient reaches worker i's socket (the same routes as the port, on that worker).
func (e *procEnv) workerClient(i int) *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", WorkerSocket(e.run, i))
		}}}
}

// The operator routes with --workers: the listing and the receipt asked through the port cover
// both workers, and a disconnect, then a revocation, reach the subject's streams on both.
func (e *procEnv) testOperator(t *testing.T) {
	mint := func(roles, sub string) string {
		out, err := exec.Command(e.bin, "token", "--data-dir", e.data, "--tenant", "demo", "--roles", roles, "--sub", sub).Output()
		if err != nil {
			t.Fatalf("token: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	admin := mint("urn:ads:platform:tenant-service:tenant-admin", "ops-admin")
	u9 := mint("stream-listener", "u9")
	auth := map[string]string{"Authorization": "Bearer " + admin}
	var ends []chan string
	for i := range 2 {
		ids, _ := openSSE(t, e.workerClient(i), "http://worker/stream/v1/streams/orders", u9)
		ends = append(ends, ids)
	}
	st, body := e.do(e.http, "GET", e.base+"/push/v1/connections?sub=u9", "", auth)
	if st != 200 || strings.Count(body, `"sub":"u9"`) != 2 || !strings.Contains(body, `"instance":"w0"`) || !strings.Contains(body, `"instance":"w1"`) {
		t.Fatalf("listing through the port: %d %s", st, body)
	}
	st, body = e.do(e.http, "POST", e.base+"/event/v1/events", `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{}}`,
		map[string]string{"Authorization": "Bearer " + e.token})
	var ev struct{ ID string }
	if st != 200 || json.Unmarshal([]byte(body), &ev) != nil {
		t.Fatalf("publish: %d %s", st, body)
	}
	for _, ids := range ends {
		select {
		case <-ids:
		case <-time.After(5 * time.Second):
			t.Fatal("event not delivered")
		}
	}
	waitfor.Check(t, 5*time.Second, func() error {
		st, body := e.do(e.http, "GET", e.base+"/push/v1/events/"+ev.ID+"?sub=u9", "", auth)
		var r struct {
			Subscribers struct{ Delivered int }
			Instances   []struct{ Instance string }
			Subject     struct{ Connections []struct{ Instance string } }
		}
		if st != 200 || json.Unmarshal([]byte(body), &r) != nil {
			return fmt.Errorf("receipt: %d %s", st, body)
		}
		if len(r.Instances) != 2 || r.Subscribers.Delivered < 2 || len(r.Subject.Connections) != 2 {
			return fmt.Errorf("receipt does not cover both workers: %s", body)
		}
		return nil
	})
	if st, body := e.do(e.http, "POST", e.base+"/push/v1/connections/disconnect", `{"sub":"u9"}`, auth); st != 202 {
		t.Fatalf("disconnect: %d %s", st, body)
	}
	for i, ids := range ends {
		deadline := time.After(5 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-ids:
				if !ok {
					break drain
				}
			case <-deadline:
				t.Fatalf("worker %d kept u9's stream open", i)
			}
		}
	}
	// A revocation reaches both workers: u9's token is refused on each.
	if st, body := e.do(e.http, "POST", e.base+"/push/v1/revocations", `{"sub":"u9"}`, auth); st != 201 {
		t.Fatalf("revoke: %d %s", st, body)
	}
	for i := range 2 {
		waitfor.Check(t, 5*time.Second, func() error {
			if st, _ := e.do(e.workerClient(i), "GET", "http://worker/stream/v1/streams/orders", "", map[string]string{"Authorization": "Bearer " + u9}); st != 401 {
				return fmt.Errorf("worker %d answers %d to the revoked token", i, st)
			}
			return nil
		})
	}
}
