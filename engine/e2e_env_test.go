package engine_test

// End-to-end tests of the product features against the in-process server (engine.New + Run on a
// loopback port), at the protocol level: SSE through net/http + protocol/sse.Parser, Socket.IO
// through a raw gobwas/ws WebSocket client + the protocol/engineio and protocol/socketio codecs,
// tokens from devissuer.Load(dataDir).Mint (and forged ones signed here).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/protocol/sse"

	"github.com/pushgate/pushgate/internal/waitfor"
)

const (
	e2eConfigPath = "/configuration/v2/configuration/platform/push-service"
	e2eQSRoles    = "stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin"
	e2eUnauth     = "User not authorized to connect."
	e2eWait       = 5 * time.Second
)

// ---------------------------------------------------------------------------------------------
// server fixture

type e2eEnv struct {
	t       *testing.T
	srv     *engine.Server
	url     string
	addr    string
	dataDir string
	iss     *devissuer.Issuer
	cancel  context.CancelFunc
	done    chan error

	demoID, acmeID string // tenant URNs
	demo, acme     string // README-role tokens
	core           string // core: stream-listener, platform-service, configuration-admin, event-sender
}

func e2eQuietLogger() *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// e2eStart starts an in-process server on a free loopback port (the public URL, and so the
// development issuer, must name the real port), creates the tenant "Acme Corp" and mints tokens.
func e2eStart(t *testing.T, mut func(*engine.Config)) *e2eEnv {
	t.Helper()
	dataDir := t.TempDir()
	var srv *engine.Server
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		cfg := engine.Config{
			Listen: e2eFreeAddr(t), DataDir: dataDir, Logger: e2eQuietLogger(),
			PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond,
			SSEHeartbeat: 500 * time.Millisecond, DrainTimeout: -1,
		}
		if mut != nil {
			mut(&cfg)
		}

		if srv, err = engine.New(cfg); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	e := &e2eEnv{t: t, srv: srv, url: srv.URL(), addr: srv.Addr().String(), dataDir: dataDir, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- srv.Run(ctx) }()
	t.Cleanup(e.stop)
	e.waitReady()
	if e.iss, err = devissuer.Load(dataDir); err != nil {
		t.Fatalf("devissuer.Load: %v", err)
	}
	e.core = e.mint("core", e2eQSRoles+",urn:ads:platform:tenant-service:platform-service", "", time.Hour)
	e.demo = e.mint("demo", e2eQSRoles, "", time.Hour)
	e.demoID = e.tenantURN("demo")
	st, body := e.do("POST", "/tenant/v2/tenants", e.core, `{"name":"Acme Corp"}`, nil)
	if st != 201 {
		t.Fatalf("create tenant: %d %s", st, body)
	}
	var acme struct{ ID, Realm string }
	_ = json.Unmarshal(body, &acme)
	if acme.Realm != "acme-corp" {
		t.Fatalf("tenant: %s", body)
	}
	e.acmeID = acme.ID
	e.acme = e.mint("acme-corp", e2eQSRoles, "", time.Hour)
	return e
}

func (e *e2eEnv) stop() {
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var keep []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "pushgate/engine") && !strings.Contains(g, "e2eEnv).stop") {
				keep = append(keep, g)
			}
		}
		e.t.Errorf("server did not stop within 10s (Run must return after its context is cancelled)\n%s", strings.Join(keep, "\n\n"))
	}
}

func (e *e2eEnv) waitReady() {
	waitfor.Check(e.t, e2eWait, func() error {
		resp, err := http.Get(e.url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/readyz %d", resp.StatusCode)
		}
		return nil
	})
}

func e2eFreeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (e *e2eEnv) mint(realm, roles, sub string, ttl time.Duration) string {
	e.t.Helper()
	var rs []string
	for _, r := range strings.Split(roles, ",") {
		if r != "" {
			rs = append(rs, r)
		}
	}
	tok, err := e.iss.Mint(devissuer.Claims{Realm: realm, Roles: rs, Subject: sub, TTL: ttl})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *e2eEnv) do(method, path, token, body string, hdr map[string]string) (int, []byte) {
	e.t.Helper()
	st, b, _ := e.doFull(method, path, token, body, hdr)
	return st, b
}

// doFull is do that also returns the answer's headers.
func (e *e2eEnv) doFull(method, path, token, body string, hdr map[string]string) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header[k] = []string{v} // the name exactly as given
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.TrimSpace(b), resp.Header
}

func (e *e2eEnv) tenantURN(ref string) string {
	st, body := e.do("GET", "/tenant/v2/tenants?name="+url.QueryEscape(ref), e.core, "", nil)
	var l struct{ Results []struct{ ID string } }
	if st != 200 || json.Unmarshal(body, &l) != nil || len(l.Results) != 1 {
		e.t.Fatalf("tenant %s: %d %s", ref, st, body)
	}
	return l.Results[0].ID
}

// patch PATCHes the configuration (tenantID "" = the caller's document) and expects 200.
func (e *e2eEnv) patch(token, tenantID, body string) {
	e.t.Helper()
	p := e2eConfigPath
	if tenantID != "" {
		p += "?tenantId=" + url.QueryEscape(tenantID)
	}
	if st, b := e.do("PATCH", p, token, body, nil); st != 200 {
		e.t.Fatalf("PATCH %s: %d %s", body, st, b)
	}
}

// stream creates stream id (UPDATE) in the token's document and waits until tenant lists it.
func (e *e2eEnv) stream(token, listTenant, id, streamJSON string) {
	e.t.Helper()
	e.patch(token, "", fmt.Sprintf(`{"operation":"UPDATE","update":{%q:%s}}`, id, streamJSON))
	e.waitListed(token, listTenant, id, true)
}

func (e *e2eEnv) waitListed(token, tenant, id string, present bool) {
	e.t.Helper()
	waitfor.Check(e.t, e2eWait, func() error {
		st, body := e.do("GET", "/stream/v1/streams?tenant="+url.QueryEscape(tenant), token, "", nil)
		var m map[string]json.RawMessage
		if st == 200 && json.Unmarshal(body, &m) == nil && (m[id] != nil) == present {
			return nil
		}
		return fmt.Errorf("stream %s in %s present=%v: %d %s", id, tenant, present, st, body)
	})
}

// publish posts an event (payload and extra fields as JSON members) and returns its id.
func (e *e2eEnv) publish(token, ns, name, extra string) string {
	e.t.Helper()
	body := fmt.Sprintf(`{"namespace":%q,"name":%q,"timestamp":"2026-01-01T00:00:00Z"`, ns, name)
	if !strings.Contains(extra, `"payload"`) {
		body += `,"payload":{}`
	}
	if extra != "" {
		body += "," + extra
	}
	body += "}"
	st, b := e.do("POST", "/event/v1/events", token, body, nil)
	if st != 200 {
		e.t.Fatalf("publish %s: %d %s", body, st, b)
	}
	var r struct{ ID string }
	_ = json.Unmarshal(b, &r)
	return r.ID
}

var e2eSeq struct {
	sync.Mutex
	n int
}

func e2eUID() string {
	e2eSeq.Lock()
	defer e2eSeq.Unlock()
	e2eSeq.n++
	return fmt.Sprintf("s%d", e2eSeq.n)
}

// ---------------------------------------------------------------------------------------------
// SSE client

type e2eSSEEvent struct {
	ID, Type string
	Data     string
}

type e2eSSE struct {
	resp   *http.Response
	events chan e2eSSEEvent
	raw    chan string // every chunk, for comments
	cancel context.CancelFunc
	closed chan struct{}
}

// openSSE GETs path; on a non-200 it returns the status and body with a nil client.
func (e *e2eEnv) openSSE(path string, hdr map[string]string) (*e2eSSE, int, []byte) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+path, nil)
	for k, v := range hdr {
		req.Header[k] = []string{v} // the name exactly as given (browsers send "Last-Event-ID")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, bytes.TrimSpace(b)
	}
	c := &e2eSSE{resp: resp, events: make(chan e2eSSEEvent, 1024), raw: make(chan string, 1024), cancel: cancel, closed: make(chan struct{})}
	go func() {
		defer close(c.closed)
		var p sse.Parser
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				select {
				case c.raw <- string(buf[:n]):
				default:
				}
				_ = p.Feed(buf[:n], func(ev sse.Event) {
					c.events <- e2eSSEEvent{ID: ev.ID, Type: ev.Type, Data: string(ev.Data)}
				})
			}
			if err != nil {
				return
			}
		}
	}()
	e.t.Cleanup(c.close)
	return c, 200, nil
}

func (e *e2eEnv) mustSSE(path, token string) *e2eSSE {
	e.t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	c, st, body := e.openSSE(path, hdr)
	if c == nil {
		e.t.Fatalf("SSE %s: %d %s", path, st, body)
	}
	return c
}

func (c *e2eSSE) close() {
	c.cancel()
	c.resp.Body.Close()
}

func (c *e2eSSE) next(t *testing.T) e2eSSEEvent {
	t.Helper()
	select {
	case ev := <-c.events:
		return ev
	case <-time.After(e2eWait):
		t.Fatalf("no SSE event within %s", e2eWait)
	}
	return e2eSSEEvent{}
}

// ---------------------------------------------------------------------------------------------
// Socket.IO client (raw WebSocket, Engine.IO v4, Socket.IO v5)
