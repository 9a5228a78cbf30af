package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/internal/waitfor"
)

const (
	configPath = "/configuration/v2/configuration/platform/push-service"
	allRoles   = "stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin"
	// ordersStream is the README's quick-start stream.
	ordersStream = `{"id":"orders","name":"Orders","description":"Orders placed in the shop","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed","map":{"orderId":"payload.id","customer":"payload.customer.name"}}]}`
)

// server is an in-process pushgate (engine.New + Run) on loopback, restartable on the same port
// and data dir.
type server struct {
	t       *testing.T
	cfg     engine.Config
	srv     *engine.Server
	url     string
	cancel  context.CancelFunc
	done    chan error
	iss     *devissuer.Issuer
	dataDir string
}

func quietLogger() *slog.Logger {
	if os.Getenv("BROWSER_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServer starts a development-mode server on an ephemeral port; mut adjusts the config.
func startServer(t *testing.T, mut func(*engine.Config)) *server {
	t.Helper()
	cfg := engine.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: quietLogger(),
		DrainTimeout: -1, SSEHeartbeat: time.Second, PingInterval: time.Second, PingTimeout: time.Second}
	if mut != nil {
		mut(&cfg)
	}
	s := &server{t: t, cfg: cfg, dataDir: cfg.DataDir}
	s.start()
	t.Cleanup(s.stop)
	if cfg.DevMode() {
		var err error
		if s.iss, err = devissuer.Load(cfg.DataDir); err != nil {
			t.Fatal(err)
		}
	}
	// Restarts must come back on the same port (the browser reconnects to the same URL).
	s.cfg.Listen = s.srv.Addr().String()
	s.cfg.PublicURL = s.url
	return s
}

func (s *server) start() {
	s.t.Helper()
	var err error
	// One budget for the start (a restart may wait for the port to be released) and the readiness.
	deadline := time.Now().Add(5 * time.Second)
	waitfor.Check(s.t, time.Until(deadline), func() error {
		if s.srv, err = engine.New(s.cfg); err != nil {
			return fmt.Errorf("engine.New: %v", err)
		}
		return nil
	})
	s.url = s.srv.URL()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- s.srv.Run(ctx) }()
	waitfor.Check(s.t, time.Until(deadline), func() error {
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			return fmt.Errorf("server not ready: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("server not ready: /readyz answered %d", resp.StatusCode)
		}
		return nil
	})
}

func (s *server) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		s.t.Errorf("server did not stop within 10s")
	}
}

// restart stops the server and starts a new process-equivalent on the same port and data dir:
// a new event-id epoch and an empty replay history, the same store and development key.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	// The kept-alive connections of the helpers' client led to the stopped server: a request on
	// one would wait for an answer that never comes (seen: /readyz hung after the restart).
	http.DefaultClient.CloseIdleConnections()
	s.start()
}

func (s *server) mint(realm, roles string) string {
	s.t.Helper()
	var rs []string
	for _, r := range strings.Split(roles, ",") {
		if r != "" {
			rs = append(rs, r)
		}
	}
	tok, err := s.iss.Mint(devissuer.Claims{Realm: realm, Roles: rs, TTL: time.Hour})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *server) do(method, path, token, body string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.TrimSpace(b)
}

// configure stores the orders stream in the demo tenant's document.
func (s *server) configureOrders(token string) {
	s.t.Helper()
	st, b := s.do("PATCH", configPath, token, `{"operation":"UPDATE","update":{"orders":`+ordersStream+`}}`)
	if st != 200 {
		s.t.Fatalf("configure: %d %s", st, b)
	}
}

// publish ingests a shop:order-placed event and returns its id.
func (s *server) publish(token string, id int, customer string) string {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"namespace": "shop", "name": "order-placed", "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"payload": map[string]any{"id": id, "customer": map[string]any{"name": customer}, "secret": "not projected"}})
	st, b := s.do("POST", "/event/v1/events", token, string(body))
	if st != 200 {
		s.t.Fatalf("publish: %d %s", st, b)
	}
	var out struct{ ID string }
	_ = json.Unmarshal(b, &out)
	return out.ID
}
