package interop

// Product end-to-end driver: builds ./cmd/pushgate, starts `pushgate serve` (embedded source,
// development issuer) on a free loopback port with a temporary data dir, checks the README quick
// start step by step from Go (token subcommand output, PATCH, SSE, ingest), prepares a second
// tenant and the tokens the JavaScript suites need, then runs
//
//	node --test product.test.mjs sse.test.mjs
//
// (npm socket.io-client 4.8.4 and eventsource 3.x) against the same server.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// Server timings of the product fixture (product.test.mjs / sse.test.mjs read them from the env).
const (
	productPingInterval = "300ms"
	productPingTimeout  = "200ms"
	productSSEHeartbeat = "500ms"
)

// The roles of the README quick-start token.
const quickStartRoles = "stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin"

type productServer struct {
	bin, dataDir, addr, url string
	proc                    *proc
}

func TestProductEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("product end-to-end suite skipped in -short mode")
	}
	dir, node := nodeClients(t)
	root := filepath.Dir(dir)

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	srv := productStart(t, ctx, root)

	// ---- README quick start, step by step, from Go -------------------------------------------
	qs := productQuickStart(t, root)

	// 1. the token subcommand, with the README's arguments (only --data-dir differs).
	args := append([]string{"token"}, qs.tokenArgs...)
	for i, a := range args {
		if a == "./data" {
			args[i] = srv.dataDir
		}
	}
	token := productRun(t, srv.bin, args...)
	productCheckJWT(t, token, "demo", []string{"stream-listener"}, map[string][]string{
		"urn:ads:platform:event-service":         {"event-sender"},
		"urn:ads:platform:configuration-service": {"configuration-admin"},
	})
	// ... and verbatim through `go run ./cmd/pushgate token …` as the README writes it.
	goArgs := append([]string{"run", "./cmd/pushgate"}, args...)
	cmd := exec.CommandContext(ctx, lookTool(t, "go"), goArgs...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./cmd/pushgate token (README step 1): %v", err)
	}
	productCheckJWT(t, strings.TrimSpace(string(out)), "demo", []string{"stream-listener"}, nil)

	// 2. PATCH the stream with the README body verbatim: 200 and the stream in the document.
	status, body := productHTTP(t, "PATCH", srv.url+"/configuration/v2/configuration/platform/push-service", token, qs.patchBody)
	if status != 200 {
		t.Fatalf("README step 2 PATCH: status %d, body %s", status, body)
	}
	var patched struct {
		Latest struct {
			Configuration map[string]json.RawMessage `json:"configuration"`
		} `json:"latest"`
	}
	if err := json.Unmarshal(body, &patched); err != nil || patched.Latest.Configuration["orders"] == nil {
		t.Fatalf("README step 2 PATCH response has no latest.configuration.orders: %s (%v)", body, err)
	}
	productWaitStreamListed(t, srv.url, token, "demo", "orders")

	// 3. curl -N -H "Authorization: Bearer $TOKEN" …/stream/v1/streams/orders
	sse := productOpenSSE(t, ctx, srv.url+"/stream/v1/streams/orders", token)
	defer sse.close()
	if line := sse.nextLine(t, 5*time.Second); !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("README step 3: first SSE line = %q, want retry: …", line)
	}

	// 4. publish with the README body verbatim.
	status, body = productHTTP(t, "POST", srv.url+"/event/v1/events", token, qs.eventBody)
	if status != 200 {
		t.Fatalf("README step 4 POST /event/v1/events: status %d, body %s", status, body)
	}
	var accepted struct{ ID string }
	_ = json.Unmarshal(body, &accepted)
	if !regexp.MustCompile(`^\d+-\d+$`).MatchString(accepted.ID) {
		t.Fatalf("README step 4: ingest id %q is not <epoch>-<seq>", accepted.ID)
	}
	// The SSE output of the README: "id: <epoch>-<seq>" then "data: {tenantId, namespace, name, orderId}".
	var id, data string
	deadline := time.Now().Add(5 * time.Second)
	for data == "" {
		line := sse.nextLine(t, time.Until(deadline))
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	if id != accepted.ID {
		t.Errorf("README SSE id = %q, want the ingest id %q", id, accepted.ID)
	}
	demoURN := productTenantURN(t, srv.url, token, "demo")
	want := fmt.Sprintf(`{"tenantId":%q,"namespace":"shop","name":"order-placed","orderId":42}`, demoURN)
	if data != want {
		t.Errorf("README SSE data =\n  %s\nwant\n  %s", data, want)
	}
	sse.close()

	// ---- fixture for the JavaScript suites ----------------------------------------------------
	core := productRun(t, srv.bin, "token", "--data-dir", srv.dataDir, "--core", "--roles",
		"stream-listener,urn:ads:platform:tenant-service:platform-service,urn:ads:platform:configuration-service:configuration-admin,urn:ads:platform:event-service:event-sender")
	status, body = productHTTP(t, "POST", srv.url+"/tenant/v2/tenants", core, `{"name":"Acme Corp"}`)
	if status != 201 {
		t.Fatalf("POST /tenant/v2/tenants: status %d, body %s", status, body)
	}
	var acme struct{ ID, Name, Realm string }
	if err := json.Unmarshal(body, &acme); err != nil || acme.Realm != "acme-corp" {
		t.Fatalf("created tenant: %s (%v)", body, err)
	}
	acmeToken := productRun(t, srv.bin, "token", "--data-dir", srv.dataDir, "--tenant", "Acme Corp", "--roles", quickStartRoles)
	productCheckJWT(t, acmeToken, "acme-corp", []string{"stream-listener"}, nil)

	fixture := map[string]any{
		"url":     srv.url,
		"bin":     srv.bin,
		"dataDir": srv.dataDir,
		"tenants": map[string]any{
			"demo": map[string]string{"id": demoURN, "name": "demo", "realm": "demo"},
			"acme": map[string]string{"id": acme.ID, "name": acme.Name, "realm": acme.Realm},
		},
		"tokens": map[string]string{"demo": token, "acme": acmeToken, "core": core},
		"timings": map[string]int{
			"pingIntervalMs": 300, "pingTimeoutMs": 200, "sseHeartbeatMs": 500,
		},
	}
	fb, _ := json.Marshal(fixture)
	fixturePath := filepath.Join(t.TempDir(), "fixture.json")
	if err := os.WriteFile(fixturePath, fb, 0o600); err != nil {
		t.Fatal(err)
	}

	run := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "product.test.mjs", "sse.test.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "PUSHGATE_URL="+srv.url, "PUSHGATE_FIXTURE="+fixturePath, "NO_COLOR=1", "FORCE_COLOR=0")
	run.WaitDelay = 10 * time.Second
	p := startLogged(t, run, "node")
	<-p.done
	if p.err != nil {
		if ctx.Err() != nil {
			t.Fatalf("node --test product.test.mjs sse.test.mjs: timed out: %v", p.err)
		}
		t.Fatalf("node --test product.test.mjs sse.test.mjs failed: %v", p.err)
	}
	select {
	case <-srv.proc.done:
		t.Fatalf("server exited during the suites: %v", srv.proc.err)
	default:
	}
}

// productStart builds the binary, starts `serve` and waits for /readyz 200.
func productStart(t *testing.T, ctx context.Context, root string) *productServer {
	t.Helper()
	tmp := t.TempDir()
	bin := pushgateBinary(t)
	s := &productServer{bin: bin, dataDir: filepath.Join(tmp, "data")}
	for attempt := 0; ; attempt++ {
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		s.url = "http://" + s.addr
		cmd := exec.Command(bin, "serve", "--listen", s.addr, "--data-dir", s.dataDir,
			"--ping-interval", productPingInterval, "--ping-timeout", productPingTimeout,
			"--sse-heartbeat", productSSEHeartbeat, "--log-level", "warn")
		s.proc = startLogged(t, cmd, "server")
		if productWaitReady(t, s, 30*time.Second) {
			break
		}
		if attempt == 2 {
			t.Fatalf("server did not become ready on %s: %v", s.addr, s.proc.err)
		}
	}
	t.Cleanup(func() {
		select {
		case <-s.proc.done:
			return
		default:
		}
		_ = s.proc.cmd.Process.Kill() // only the process this test started
		select {
		case <-s.proc.done:
		case <-time.After(10 * time.Second):
			t.Errorf("server pid %d did not exit after kill", s.proc.cmd.Process.Pid)
		}
	})
	return s
}

// productWaitReady polls /readyz until 200; false when the process exited (port taken).
func productWaitReady(t *testing.T, s *productServer, timeout time.Duration) bool {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	exited := false
	err := waitfor.Condition(timeout, func() error {
		select {
		case <-s.proc.done:
			exited = true
			return nil
		default:
		}
		resp, err := c.Get(s.url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/readyz answered %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("server on %s not ready within %s: %v", s.addr, timeout, err)
	}
	return !exited
}

// quickStart holds the commands extracted from the README quick start.
type quickStart struct {
	tokenArgs []string // after "token"
	patchBody string
	eventBody string
}

// productQuickStart reads the README quick-start block so the test follows the README text.
func productQuickStart(t *testing.T, root string) quickStart {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	text := string(readme)
	i := strings.Index(text, "## Quick start")
	if i < 0 {
		t.Fatal("README.md has no \"## Quick start\" section")
	}
	block := text[i:]
	if j := strings.Index(block[3:], "\n## "); j >= 0 {
		block = block[:j+3]
	}
	block = strings.ReplaceAll(block, "\\\n", " ")
	var qs quickStart
	m := regexp.MustCompile(`pushgate token ([^)\n]*)\)`).FindStringSubmatch(block)
	if m == nil {
		t.Fatalf("README quick start: no `pushgate token …` command in\n%s", block)
	}
	qs.tokenArgs = strings.Fields(m[1])
	if !strings.Contains(m[1], "--tenant demo") || !strings.Contains(m[1], quickStartRoles) {
		t.Errorf("README token command %q lacks --tenant demo / the quick-start roles", m[1])
	}
	bodies := regexp.MustCompile(`-d '([^']*)'`).FindAllStringSubmatch(block, -1)
	for _, b := range bodies {
		switch {
		case strings.Contains(b[1], `"operation"`):
			qs.patchBody = b[1]
		case strings.Contains(b[1], `"namespace":"shop"`):
			qs.eventBody = b[1]
		}
	}
	if qs.patchBody == "" || qs.eventBody == "" {
		t.Fatalf("README quick start: PATCH or event body not found in\n%s", block)
	}
	for _, want := range []string{
		`curl -N -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/stream/v1/streams/orders`,
		`io("http://127.0.0.1:8080/demo", { query: { stream: "orders" }, auth: { token } })`,
		`socket.on("shop:order-placed"`,
		"PATCH http://127.0.0.1:8080/configuration/v2/configuration/platform/push-service",
		"POST http://127.0.0.1:8080/event/v1/events",
	} {
		if !strings.Contains(block, want) {
			t.Errorf("README quick start no longer contains %q (update product tests with it)", want)
		}
	}
	return qs
}

// productCheckJWT checks that tok is a compact RS256 JWT with a kid, for realm, holding the roles.
func productCheckJWT(t *testing.T, tok, realm string, realmRoles []string, clientRoles map[string][]string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token output %q is not a compact JWT", tok)
	}
	var hdr struct{ Alg, Kid string }
	var cl struct {
		Iss         string `json:"iss"`
		Aud         any    `json:"aud"`
		Exp         int64  `json:"exp"`
		RealmAccess struct {
			Roles []string `json:"roles"`
		} `json:"realm_access"`
		ResourceAccess map[string]struct {
			Roles []string `json:"roles"`
		} `json:"resource_access"`
	}
	for i, dst := range []any{&hdr, &cl} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("token part %d is not base64url: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("token part %d is not JSON: %v", i, err)
		}
	}
	if (hdr.Alg != "RS256" && hdr.Alg != "ES256") || hdr.Kid == "" {
		t.Errorf("token header alg=%q kid=%q", hdr.Alg, hdr.Kid)
	}
	if !strings.HasSuffix(cl.Iss, "/auth/realms/"+realm) {
		t.Errorf("token iss = %q, want …/auth/realms/%s", cl.Iss, realm)
	}
	if !strings.Contains(fmt.Sprint(cl.Aud), "urn:ads:platform:push-service") {
		t.Errorf("token aud = %v, want urn:ads:platform:push-service in it", cl.Aud)
	}
	if cl.Exp < time.Now().Unix() {
		t.Errorf("token exp %d is in the past", cl.Exp)
	}
	for _, r := range realmRoles {
		if !strings.Contains(strings.Join(cl.RealmAccess.Roles, ","), r) {
			t.Errorf("token realm roles %v lack %q", cl.RealmAccess.Roles, r)
		}
	}
	for client, roles := range clientRoles {
		got := cl.ResourceAccess[client].Roles
		for _, r := range roles {
			if !strings.Contains(strings.Join(got, ","), r) {
				t.Errorf("token resource_access[%s] = %v lacks %q", client, got, r)
			}
		}
	}
}

func productTenantURN(t *testing.T, base, token, ref string) string {
	t.Helper()
	status, body := productHTTP(t, "GET", base+"/tenant/v2/tenants?name="+ref, token, "")
	var l struct {
		Results []struct{ ID string } `json:"results"`
	}
	if status != 200 || json.Unmarshal(body, &l) != nil || len(l.Results) != 1 {
		t.Fatalf("GET /tenant/v2/tenants?name=%s: %d %s", ref, status, body)
	}
	return l.Results[0].ID
}

// productWaitStreamListed polls the streams list until the stream is visible (the registry is
// rebuilt asynchronously after a configuration change).
func productWaitStreamListed(t *testing.T, base, token, tenant, id string) {
	t.Helper()
	waitfor.Check(t, 5*time.Second, func() error {
		status, body := productHTTP(t, "GET", base+"/stream/v1/streams?tenant="+tenant, token, "")
		var m map[string]json.RawMessage
		if status == 200 && json.Unmarshal(body, &m) == nil && m[id] != nil {
			return nil
		}
		return fmt.Errorf("stream %q not listed within 5s: %d %s", id, status, body)
	})
}

func productHTTP(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, bytes.TrimSpace(b)
}

// productSSE is a raw SSE reader (like curl -N).
type productSSE struct {
	resp   *http.Response
	lines  chan string
	cancel context.CancelFunc
	once   sync.Once
}

func productOpenSSE(t *testing.T, ctx context.Context, url, token string) *productSSE {
	t.Helper()
	cctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(cctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %s %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &productSSE{resp: resp, lines: make(chan string, 256), cancel: cancel}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	return s
}

// nextLine returns the next non-empty, non-comment line.
func (s *productSSE) nextLine(t *testing.T, timeout time.Duration) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatal("SSE stream ended")
			}
			if l == "" || strings.HasPrefix(l, ":") {
				continue
			}
			return l
		case <-timer.C:
			t.Fatalf("no SSE line within %s", timeout)
		}
	}
}

func (s *productSSE) close() {
	s.once.Do(func() {
		s.cancel()
		s.resp.Body.Close()
	})
}

func productRun(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}
