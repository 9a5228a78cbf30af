package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/cluster"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/kafka/client"

	"github.com/pushgate/pushgate/internal/waitfor"
)

func startClusterInstance(t *testing.T, kc client.Config, oidcBase string) (*engine.Server, *cluster.Instance) {
	t.Helper()
	inst, err := cluster.NewInstance(cluster.InstanceConfig{Listen: "127.0.0.1:0", Secret: []byte("0123456789abcdef-secret"), Kafka: kc,
		Heartbeat: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Kafka: &kc, OIDCBase: oidcBase, Logger: slog.New(slog.DiscardHandler), DrainTimeout: -1}
	srv, err := engine.Assemble(cfg, engine.Options{Instance: inst})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done }) // Run closes the instance after the drain
	return srv, inst
}

// With --cluster-listen, the connections listing and the delivery receipt asked of one instance
// cover every live instance: the receipt sums both instances' deliveries, and the listing names
// the subject's connection on each.
func TestOperatorRoutesAskEveryInstance(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := client.Config{Brokers: c.ListenAddrs()}
	a, ia := startClusterInstance(t, kc, "")
	b, ib := startClusterInstance(t, kc, a.URL()+"/auth")
	waitfor.Check(t, 15*time.Second, func() error {
		if len(ia.Peers()) != 2 || len(ib.Peers()) != 2 {
			return fmt.Errorf("peers %v / %v", ia.Peers(), ib.Peers())
		}
		for _, s := range []*engine.Server{a, b} {
			if code, body := httpDo(t, "GET", s.URL()+"/readyz", "", "", ""); code != 200 {
				return fmt.Errorf("not ready: %s", body)
			}
		}
		return nil
	})
	iss, err := devissuer.Load(a.Config().DataDir)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(sub string, roles ...string) string {
		s, err := iss.Mint(devissuer.Claims{Realm: "demo", Roles: roles, Subject: sub, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cfgTok := mint("cfg", "urn:ads:platform:configuration-service:configuration-admin", "urn:ads:platform:event-service:event-sender")
	admin := mint("admin", "urn:ads:platform:tenant-service:tenant-admin")
	u1 := mint("u1", "stream-listener")
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hook.Close)
	patch := `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","events":[{"namespace":"shop","name":"order-placed"}]},` +
		`"webhooks":{"h":{"id":"h","name":"H","url":"` + hook.URL + `","events":[{"namespace":"shop","name":"order-placed"}]}}}}`
	if code, body := httpDo(t, "PATCH", a.URL()+"/configuration/v2/configuration/platform/push-service", cfgTok, "application/json", patch); code != 200 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	waitfor.Check(t, 5*time.Second, func() error {
		if _, body := httpDo(t, "GET", b.URL()+"/stream/v1/streams", u1, "", ""); !strings.Contains(body, `"orders"`) {
			return fmt.Errorf("B has no orders stream: %s", body)
		}
		return nil
	})
	var streamA *bufio.Reader
	for _, s := range []*engine.Server{a, b} {
		req, _ := http.NewRequest("GET", s.URL()+"/stream/v1/streams/orders", nil)
		req.Header.Set("Authorization", "Bearer "+u1)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("SSE: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if s == a {
			streamA = bufio.NewReader(resp.Body)
		}
	}
	code, body := httpDo(t, "GET", a.URL()+"/push/v1/connections?sub=u1", admin, "", "")
	if code != 200 || strings.Count(body, `"sub":"u1"`) != 2 || !strings.Contains(body, ia.ID) || !strings.Contains(body, ib.ID) {
		t.Errorf("listing on A: %d %s, want u1's connection on each instance", code, body)
	}
	code, body = httpDo(t, "POST", a.URL()+"/event/v1/events", cfgTok, "application/json", `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{}}`)
	if code != 200 {
		t.Fatalf("publish: %d %s", code, body)
	}
	var ev struct{ ID string } // Kafka mode: the id is the topic position, read from the stream
	for ev.ID == "" {
		line, err := streamA.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
			ev.ID = id
		}
	}
	waitfor.Check(t, 20*time.Second, func() error {
		code, body := httpDo(t, "GET", b.URL()+"/push/v1/events/"+ev.ID+"?sub=u1", admin, "", "")
		var r struct {
			Webhooks    struct{ Queued int }
			Subscribers struct{ Delivered int }
			Instances   []struct{ Instance string }
			Subject     struct {
				Received    bool
				Connections []struct{ Instance string }
			}
		}
		if code != 200 || json.Unmarshal([]byte(body), &r) != nil {
			return fmt.Errorf("receipt on B of %q: %d %s", ev.ID, code, body)
		}
		// The webhook is sent by the instance owning the event's partition (the webhook group):
		// whichever it is, the receipt asked of B counts it once.
		if r.Subscribers.Delivered != 2 || len(r.Instances) != 2 || !r.Subject.Received || len(r.Subject.Connections) != 2 || r.Webhooks.Queued != 1 {
			return fmt.Errorf("receipt on B does not sum both instances: %s", body)
		}
		return nil
	})
}
