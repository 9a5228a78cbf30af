package engine_test

// End-to-end tests of the product features against the in-process server (engine.New + Run on a
// loopback port), at the protocol level: SSE through net/http + protocol/sse.Parser, Socket.IO
// through a raw gobwas/ws WebSocket client + the protocol/engineio and protocol/socketio codecs,
// tokens from devissuer.Load(dataDir).Mint (and forged ones signed here).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/protocol/engineio"
	"github.com/pushgate/pushgate/protocol/socketio"
	"github.com/pushgate/pushgate/protocol/sse"
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
	deadline := time.Now().Add(e2eWait)
	for {
		resp, err := http.Get(e.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
	return resp.StatusCode, bytes.TrimSpace(b)
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
	deadline := time.Now().Add(e2eWait)
	for {
		st, body := e.do("GET", "/stream/v1/streams?tenant="+url.QueryEscape(tenant), token, "", nil)
		var m map[string]json.RawMessage
		if st == 200 && json.Unmarshal(body, &m) == nil && (m[id] != nil) == present {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("stream %s in %s present=%v: not within %s: %d %s", id, tenant, present, e2eWait, st, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
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

type e2ePacket struct {
	Type socketio.PacketType
	Nsp  string
	Ack  int64
	Data string
}

type e2eSIO struct {
	t       *testing.T
	conn    net.Conn
	wmu     sync.Mutex
	packets chan e2ePacket
	closed  chan struct{}
	readErr error    // why the reader stopped (set before closed is closed)
	frames  []string // text frames received (reader goroutine only until closed)
}

// dialSIO opens a WebSocket Engine.IO session with query q and header; it answers pings.
func (e *e2eEnv) dialSIO(q url.Values, hdr http.Header) *e2eSIO {
	e.t.Helper()
	if q == nil {
		q = url.Values{}
	}
	q.Set("EIO", "4")
	q.Set("transport", "websocket")
	d := ws.Dialer{Timeout: e2eWait}
	if hdr != nil {
		d.Header = ws.HandshakeHeaderHTTP(hdr)
	}
	conn, br, _, err := d.Dial(context.Background(), "ws://"+e.addr+"/socket.io/?"+q.Encode())
	if err != nil {
		e.t.Fatalf("ws dial: %v", err)
	}
	var rd io.Reader = conn
	if br != nil { // frames that arrived with the handshake response
		rd = io.MultiReader(br, conn)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{rd, conn}
	c := &e2eSIO{t: e.t, conn: conn, packets: make(chan e2ePacket, 4096), closed: make(chan struct{})}
	open := make(chan string, 1)
	go func() {
		defer close(c.closed)
		first := true
		for {
			b, err := wsutil.ReadServerText(rw)
			if err != nil {
				c.readErr = fmt.Errorf("%w (frames before: %q)", err, c.frames)
				return
			}
			c.frames = append(c.frames, string(b))
			p, _, err := engineio.DecodePacket(b, nil)
			if err != nil {
				continue
			}
			switch p.Type {
			case engineio.PacketOpen:
				if first {
					open <- string(p.Data)
					first = false
				}
			case engineio.PacketPing:
				c.write("3")
			case engineio.PacketMessage:
				sp, err := socketio.Decode(p.Data, 0)
				if err != nil {
					c.t.Errorf("undecodable Socket.IO packet %q: %v", p.Data, err)
					continue
				}
				c.packets <- e2ePacket{Type: sp.Type, Nsp: sp.Namespace, Ack: sp.AckID, Data: string(sp.Data)}
			}
		}
	}()
	select {
	case <-open:
	case <-time.After(e2eWait):
		e.t.Fatal("no Engine.IO open packet")
	}
	e.t.Cleanup(c.close)
	return c
}

func (c *e2eSIO) write(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteClientText(c.conn, []byte(s))
}

func (c *e2eSIO) close() { c.conn.Close() }

// connect sends CONNECT for nsp with the auth payload and returns the reply (CONNECT or CONNECT_ERROR).
func (c *e2eSIO) connect(nsp string, auth any) e2ePacket {
	c.t.Helper()
	var data []byte
	if m, isMap := auth.(map[string]any); auth != nil && !(isMap && m == nil) {
		data, _ = json.Marshal(auth) // a nil map would be "null", which the protocol forbids
	}
	c.write("4" + string(socketio.AppendPacket(nil, socketio.Packet{Type: socketio.Connect, Namespace: nsp, AckID: socketio.NoAck, Data: data})))
	for {
		p := c.next()
		if p.Type == socketio.Connect || p.Type == socketio.ConnectError {
			return p
		}
	}
}

func (c *e2eSIO) next() e2ePacket {
	c.t.Helper()
	select {
	case p := <-c.packets:
		return p
	case <-c.closed:
		select {
		case p := <-c.packets:
			return p
		default:
		}
		c.t.Fatalf("Socket.IO connection ended while waiting for a packet: %v", c.readErr)
	case <-time.After(e2eWait):
		c.t.Fatalf("no Socket.IO packet within %s\n%s", e2eWait, e2eEngineStacks())
	}
	return e2ePacket{}
}

// event returns the next EVENT as name and its first argument.
func (c *e2eSIO) event() (string, string) {
	c.t.Helper()
	for {
		p := c.next()
		if p.Type != socketio.Event {
			continue
		}
		name, args, err := socketio.SplitEvent([]byte(p.Data))
		if err != nil {
			c.t.Fatalf("bad EVENT %q: %v", p.Data, err)
		}
		return name, e2eFirstArg(args)
	}
}

func e2eFirstArg(args []byte) string {
	if len(args) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return string(args)
	}
	return string(raw)
}

// subscribeSIO dials, connects nsp with auth and fails unless CONNECT succeeds.
func (e *e2eEnv) subscribeSIO(nsp string, q url.Values, auth map[string]any) *e2eSIO {
	e.t.Helper()
	c := e.dialSIO(q, nil)
	if p := c.connect(nsp, auth); p.Type != socketio.Connect {
		e.t.Fatalf("CONNECT %s: %v %s", nsp, p.Type, p.Data)
	}
	return c
}

// connectErr dials and returns the CONNECT_ERROR payload (failing on success).
func (e *e2eEnv) connectErr(nsp string, q url.Values, hdr http.Header, auth any) (msg, code string) {
	e.t.Helper()
	c := e.dialSIO(q, hdr)
	defer c.close()
	p := c.connect(nsp, auth)
	if p.Type != socketio.ConnectError {
		e.t.Fatalf("CONNECT %s succeeded, want CONNECT_ERROR (%s)", nsp, p.Data)
	}
	var body struct {
		Message string
		Data    struct{ Code string }
	}
	if err := json.Unmarshal([]byte(p.Data), &body); err != nil {
		e.t.Fatalf("CONNECT_ERROR payload %q: %v", p.Data, err)
	}
	return body.Message, body.Data.Code
}

func e2eQ(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func e2eJSONEq(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: not JSON: %q", what, got)
	}
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// ---------------------------------------------------------------------------------------------
// forged tokens

func (e *e2eEnv) devKey() *rsa.PrivateKey {
	b, err := os.ReadFile(filepath.Join(e.dataDir, devissuer.KeyFile))
	if err != nil {
		e.t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func (e *e2eEnv) claims(over map[string]any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": e.iss.Issuer("demo"), "sub": "forged", "aud": []string{devissuer.Audience},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"realm_access": map[string]any{"roles": []string{"stream-listener"}},
	}
	for k, v := range over {
		c[k] = v
	}
	return c
}

func e2eSign(t *testing.T, m jwt.SigningMethod, c jwt.MapClaims, kid string, key any) string {
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// badTokens returns every token failure kind, and a correctly forged token (proves the forging).
func (e *e2eEnv) badTokens() (valid string, bad map[string]string) {
	t := e.t
	key := e.devKey()
	kid := e.iss.KID()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	none := e2eSign(t, jwt.SigningMethodNone, e.claims(nil), kid, jwt.UnsafeAllowNoneSignatureType)
	valid = e2eSign(t, jwt.SigningMethodRS256, e.claims(nil), kid, key)
	bad = map[string]string{
		"expired":          e.mint("demo", e2eQSRoles, "", -time.Hour),
		"expired forged":   e2eSign(t, jwt.SigningMethodRS256, e.claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), kid, key),
		"wrong aud":        e2eSign(t, jwt.SigningMethodRS256, e.claims(map[string]any{"aud": []string{"account"}}), kid, key),
		"no aud":           e2eSign(t, jwt.SigningMethodRS256, e.claims(map[string]any{"aud": nil}), kid, key),
		"wrong iss":        e2eSign(t, jwt.SigningMethodRS256, e.claims(map[string]any{"iss": "http://evil.example/auth/realms/demo"}), kid, key),
		"unknown realm":    e2eSign(t, jwt.SigningMethodRS256, e.claims(map[string]any{"iss": e.iss.Issuer("no-such-realm")}), kid, key),
		"unknown kid":      e2eSign(t, jwt.SigningMethodRS256, e.claims(nil), "no-such-kid", other),
		"other key":        e2eSign(t, jwt.SigningMethodRS256, e.claims(nil), kid, other),
		"ES256 other key":  e2eSign(t, jwt.SigningMethodES256, e.claims(nil), kid, ec),
		"alg none":         none,
		"HS256 public key": e2eSign(t, jwt.SigningMethodHS256, e.claims(nil), kid, pubPEM),
		"HS256 public DER": e2eSign(t, jwt.SigningMethodHS256, e.claims(nil), kid, pub),
		"garbage":          "garbage",
		"three garbage":    "a.b.c",
		"tampered":         valid[:len(valid)-4] + "AAAA",
	}
	return valid, bad
}

// ---------------------------------------------------------------------------------------------
// tests

// The README quick start at the protocol level: PATCH (README body), SSE and Socket.IO subscribers,
// publish (README body), both receive {tenantId, namespace, name, orderId}.
func TestE2EQuickStart(t *testing.T) {
	e := e2eStart(t, nil)
	e.patch(e.demo, "", `{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed","map":{"orderId":"payload.id"}}]}}}`)
	e.waitListed(e.demo, "demo", "orders", true)
	s := e.mustSSE("/stream/v1/streams/orders", e.demo)
	select {
	case chunk := <-s.raw:
		if !strings.HasPrefix(chunk, "retry: 3000\n\n") {
			t.Errorf("first SSE bytes %q, want retry: 3000", chunk)
		}
	case <-time.After(e2eWait):
		t.Fatal("no retry field")
	}
	c := e.subscribeSIO("/demo", e2eQ("stream", "orders"), map[string]any{"token": e.demo})
	st, b := e.do("POST", "/event/v1/events", e.demo, `{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"id":42}}`, nil)
	if st != 200 {
		t.Fatalf("publish: %d %s", st, b)
	}
	var acc struct{ ID string }
	_ = json.Unmarshal(b, &acc)
	want := fmt.Sprintf(`{"tenantId":%q,"namespace":"shop","name":"order-placed","orderId":42}`, e.demoID)
	ev := s.next(t)
	if ev.ID != acc.ID || ev.Type != "" || ev.Data != want {
		t.Errorf("SSE = %+v, want id %s data %s", ev, acc.ID, want)
	}
	name, arg := c.event()
	if name != "shop:order-placed" || arg != want {
		t.Errorf("Socket.IO = %s %s, want shop:order-placed %s", name, arg, want)
	}
}

// A server configured with Listen "127.0.0.1:0" and no PublicURL must still accept the tokens of
// its own development issuer (the issuer base must name the bound port).
func TestE2EPortZeroDevIssuer(t *testing.T) {
	dir := t.TempDir()
	srv, err := engine.New(engine.Config{Listen: "127.0.0.1:0", DataDir: dir, Logger: e2eQuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	iss, err := devissuer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(iss.IssuerBase(), ":0/auth") {
		t.Errorf("development issuer base is %q: it names port 0, not the bound port %s (its tokens cannot be verified: the JWKS is fetched from port 0)", iss.IssuerBase(), srv.Addr())
	}
	tok, _ := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener"}})
	req, _ := http.NewRequest("GET", srv.URL()+"/stream/v1/streams", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /stream/v1/streams with a development token on a port-0 server: %d %s, want 200", resp.StatusCode, b)
	}
}

func TestE2EProjectionAndCriteria(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "proj", `{"id":"proj","name":"P","events":[
		{"namespace":"p","name":"mapped","map":{"jobId":"payload.job.id","sku":"payload.items[1].sku","at":"timestamp","gone":"payload.nope"}},
		{"namespace":"p","name":"whole"},
		{"namespace":"p","name":"empty","map":{}},
		{"namespace":"p","name":"crit","criteria":{"context":{"region":"west","n":1}}}]}`)
	s := e.mustSSE("/stream/v1/streams/proj", e.demo)
	sc := e.mustSSE("/stream/v1/streams/proj?criteria="+url.QueryEscape(`{"context":{"k":"a"}}`), e.demo)
	c := e.subscribeSIO("/demo", e2eQ("stream", "proj"), map[string]any{"token": e.demo})
	cc := e.subscribeSIO("/demo", e2eQ("stream", "proj", "criteria", `{"context":{"k":"z"}}`), map[string]any{"token": e.demo, "criteria": map[string]any{"context": map[string]any{"k": "a"}}})
	ev := `"timestamp":"2026-03-04T05:06:07Z","correlationId":"c1","context":{"k":"a","n":1},"payload":{"job":{"id":"j1"},"items":[{"sku":"a"},{"sku":"b"}]}`
	e.do("POST", "/event/v1/events", e.demo, `{"namespace":"p","name":"mapped",`+ev+`}`, nil)
	e.do("POST", "/event/v1/events", e.demo, `{"namespace":"p","name":"whole",`+ev+`}`, nil)
	e.do("POST", "/event/v1/events", e.demo, `{"namespace":"p","name":"empty",`+ev+`}`, nil)
	e.publish(e.demo, "p", "crit", `"context":{"region":"east","n":1,"k":"a"},"payload":{"seq":1}`)
	e.publish(e.demo, "p", "crit", `"context":{"region":"west","n":"1","k":"a"},"payload":{"seq":2}`)
	e.publish(e.demo, "p", "crit", `"context":{"region":"west","n":1,"k":"b"},"payload":{"seq":3}`)
	e.publish(e.demo, "p", "crit", `"context":{"region":"west","n":1,"x":true,"k":"a"},"payload":{"seq":4}`)
	whole := func(name string) string {
		return fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":%q,"timestamp":"2026-03-04T05:06:07.000Z","correlationId":"c1","context":{"k":"a","n":1},"payload":{"job":{"id":"j1"},"items":[{"sku":"a"},{"sku":"b"}]}}`, e.demoID, name)
	}
	want := []string{
		fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":"mapped","correlationId":"c1","context":{"k":"a","n":1},"jobId":"j1","sku":"b","at":"2026-03-04T05:06:07.000Z"}`, e.demoID),
		whole("whole"), whole("empty"),
		fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":"crit","timestamp":"2026-01-01T00:00:00.000Z","context":{"region":"west","n":1,"k":"b"},"payload":{"seq":3}}`, e.demoID),
		fmt.Sprintf(`{"tenantId":%q,"namespace":"p","name":"crit","timestamp":"2026-01-01T00:00:00.000Z","context":{"region":"west","n":1,"x":true,"k":"a"},"payload":{"seq":4}}`, e.demoID),
	}
	names := []string{"p:mapped", "p:whole", "p:empty", "p:crit", "p:crit"}
	for i, w := range want {
		got := s.next(t)
		e2eJSONEq(t, fmt.Sprintf("SSE item %d", i), got.Data, w)
		n, arg := c.event()
		if n != names[i] {
			t.Errorf("Socket.IO event %d name %s, want %s", i, n, names[i])
		}
		e2eJSONEq(t, fmt.Sprintf("Socket.IO item %d", i), arg, w)
	}
	// subscriber criteria {"context":{"k":"a"}} (SSE query; Socket.IO auth.criteria wins over the query)
	for i, w := range []string{want[0], want[1], want[2], want[4]} {
		e2eJSONEq(t, fmt.Sprintf("SSE criteria item %d", i), sc.next(t).Data, w)
		_, arg := cc.event()
		e2eJSONEq(t, fmt.Sprintf("Socket.IO criteria item %d", i), arg, w)
	}
	// bad criteria
	if m, code := e.connectErr("/demo", e2eQ("stream", "proj", "criteria", "{bad"), nil, map[string]any{"token": e.demo}); code != "bad_request" {
		t.Errorf("bad criteria: %s %s", m, code)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/proj?criteria=%7Bbad", map[string]string{"Authorization": "Bearer " + e.demo}); st != 400 {
		t.Errorf("SSE bad criteria: %d", st)
	}
}

// Every token failure kind is rejected on Socket.IO CONNECT (auth.token, header, query; tenant
// namespace and "/") and on SSE (header, query), never as anonymous, even on a public stream.
func TestE2ETokenFailures(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "pub", `{"id":"pub","name":"Pub","publicSubscribe":true,"events":[{"namespace":"tf","name":"e"}]}`)
	valid, bad := e.badTokens()
	e.subscribeSIO("/demo", e2eQ("stream", "pub"), map[string]any{"token": valid}).close()
	e.mustSSE("/stream/v1/streams/pub?tenant=demo", valid).close()
	for kind, tok := range bad {
		for _, nsp := range []string{"/demo", "/"} {
			for via, try := range map[string]func() (string, string){
				"auth.token": func() (string, string) {
					return e.connectErr(nsp, e2eQ("stream", "pub"), nil, map[string]any{"token": tok})
				},
				"header": func() (string, string) {
					return e.connectErr(nsp, e2eQ("stream", "pub"), http.Header{"Authorization": {"Bearer " + tok}}, nil)
				},
				"query": func() (string, string) { return e.connectErr(nsp, e2eQ("stream", "pub", "token", tok), nil, nil) },
			} {
				if msg, code := try(); msg != e2eUnauth || code != "unauthorized" {
					t.Errorf("%s via %s on %s: CONNECT_ERROR %q %q", kind, via, nsp, msg, code)
				}
			}
		}
		for via, req := range map[string]struct {
			path string
			hdr  map[string]string
		}{
			"header": {"/stream/v1/streams/pub?tenant=demo", map[string]string{"Authorization": "Bearer " + tok}},
			"query":  {"/stream/v1/streams/pub?tenant=demo&token=" + url.QueryEscape(tok), nil},
		} {
			c, st, body := e.openSSE(req.path, req.hdr)
			if c != nil {
				c.close()
			}
			if st != 401 || string(body) != `{"errorMessage":"User not authorized to connect."}` {
				t.Errorf("%s via SSE %s: %d %s", kind, via, st, body)
			}
		}
		// REST routes reject it too
		if st, body := e.do("GET", "/stream/v1/streams?tenant=demo", tok, "", nil); st != 401 {
			t.Errorf("%s on GET /stream/v1/streams: %d %s", kind, st, body)
		}
	}
	// anonymous on "/" is refused; on a tenant namespace public works
	if msg, code := e.connectErr("/", e2eQ("stream", "pub"), nil, nil); code != "unauthorized" {
		t.Errorf("anonymous on /: %s %s", msg, code)
	}
	c := e.subscribeSIO("/demo", e2eQ("stream", "pub"), nil)
	s := e.mustSSE("/stream/v1/streams/pub?tenant=demo", "")
	e.publish(e.demo, "tf", "e", "")
	if n, _ := c.event(); n != "tf:e" {
		t.Errorf("anonymous Socket.IO got %s", n)
	}
	s.next(t)
}

// Token precedence on Socket.IO: auth.token, then Authorization, then the token query; the first
// present decides.
func TestE2ETokenPrecedence(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "prec", `{"id":"prec","name":"P","events":[{"namespace":"pr","name":"e"}]}`)
	good, badH := http.Header{"Authorization": {"Bearer " + e.demo}}, http.Header{"Authorization": {"Bearer bad"}}
	cases := []struct {
		what string
		q    url.Values
		hdr  http.Header
		auth any
		ok   bool
	}{
		{"auth good, header bad, query bad", e2eQ("stream", "prec", "token", "bad"), badH, map[string]any{"token": e.demo}, true},
		{"auth bad, header good", e2eQ("stream", "prec"), good, map[string]any{"token": "bad"}, false},
		{"header good, query bad", e2eQ("stream", "prec", "token", "bad"), good, nil, true},
		{"header bad, query good", e2eQ("stream", "prec", "token", e.demo), badH, nil, false},
		{"query good", e2eQ("stream", "prec", "token", e.demo), nil, nil, true},
		{"auth.stream wins over the query stream", e2eQ("stream", "nope"), nil, map[string]any{"token": e.demo, "stream": "prec"}, true},
	}
	for _, tc := range cases {
		c := e.dialSIO(tc.q, tc.hdr)
		p := c.connect("/demo", tc.auth)
		if (p.Type == socketio.Connect) != tc.ok {
			t.Errorf("%s: got %v %s", tc.what, p.Type, p.Data)
		}
		c.close()
	}
	// SSE: header wins over query
	if c, st, body := e.openSSE("/stream/v1/streams/prec?token=bad", map[string]string{"Authorization": "Bearer " + e.demo}); c == nil {
		t.Errorf("SSE header good + query bad: %d %s", st, body)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/prec?token="+e.demo, map[string]string{"Authorization": "Bearer bad"}); st != 401 {
		t.Errorf("SSE header bad + query good: %d", st)
	}
}

// Tenant isolation on both transports and cross-tenant probes on every REST route.
func TestE2ETenantIsolation(t *testing.T) {
	e := e2eStart(t, nil)
	streamJSON := `{"id":"iso","name":"I","events":[{"namespace":"iso","name":"e"}]}`
	e.stream(e.demo, "demo", "iso", streamJSON)
	e.stream(e.acme, "acme-corp", "iso", streamJSON)
	e.stream(e.acme, "acme-corp", "acme-pub", `{"id":"acme-pub","name":"AP","publicSubscribe":true,"events":[{"namespace":"iso","name":"e"}]}`)
	hex := strings.TrimPrefix(e.acmeID, "urn:ads:platform:tenant-service:v2:/tenants/")

	dS := e.mustSSE("/stream/v1/streams/iso", e.demo)
	aS := e.mustSSE("/stream/v1/streams/iso?tenant="+hex, e.acme)
	dC := e.subscribeSIO("/demo", e2eQ("stream", "iso"), map[string]any{"token": e.demo})
	aC := e.subscribeSIO("/acme-corp", e2eQ("stream", "iso"), map[string]any{"token": e.acme})
	dRoot := e.subscribeSIO("/", e2eQ("stream", "iso"), map[string]any{"token": e.demo})

	// demo token against acme
	if _, code := e.connectErr("/acme-corp", e2eQ("stream", "iso"), nil, map[string]any{"token": e.demo}); code != "forbidden" {
		t.Errorf("demo token on /acme-corp private stream: %s", code)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/iso?tenant=acme-corp", map[string]string{"Authorization": "Bearer " + e.demo}); st != 403 {
		t.Errorf("demo token SSE tenant=acme-corp: %d", st)
	}
	for _, ref := range []string{"acme-corp", "Acme%20Corp", hex, url.QueryEscape(e.acmeID)} {
		if st, body := e.do("GET", e2eConfigPath+"?tenantId="+ref, e.demo, "", nil); st != 403 {
			t.Errorf("demo GET acme config (%s): %d %s", ref, st, body)
		}
		if st, body := e.do("GET", e2eConfigPath+"/latest?tenantId="+ref, e.demo, "", nil); st != 403 {
			t.Errorf("demo GET acme latest config (%s): %d %s", ref, st, body)
		}
		if st, body := e.do("PATCH", e2eConfigPath+"?tenantId="+ref, e.demo, `{"operation":"DELETE","property":"iso"}`, nil); st != 403 {
			t.Errorf("demo PATCH acme config (%s): %d %s", ref, st, body)
		}
	}
	if st, body := e.do("POST", "/event/v1/events", e.demo, fmt.Sprintf(`{"namespace":"iso","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{},"tenantId":%q}`, e.acmeID), nil); st != 403 {
		t.Errorf("demo ingest with acme tenantId: %d %s", st, body)
	}
	if st, body := e.do("POST", "/event/v1/events", e.demo, `{"namespace":"iso","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{},"tenantId":"acme-corp"}`, nil); st != 403 {
		t.Errorf("demo ingest with acme slug: %d %s", st, body)
	}
	st, body := e.do("GET", "/stream/v1/streams?tenant=acme-corp", e.demo, "", nil)
	var list map[string]json.RawMessage
	_ = json.Unmarshal(body, &list)
	if st != 200 || list["iso"] != nil || list["acme-pub"] == nil {
		t.Errorf("demo lists acme streams: %d %s (want only public streams)", st, body)
	}
	for id := range list {
		var s struct{ PublicSubscribe bool }
		_ = json.Unmarshal(list[id], &s)
		if !s.PublicSubscribe {
			t.Errorf("demo sees acme's non-public stream %s", id)
		}
	}
	st, body = e.do("GET", "/tenant/v2/tenants", e.demo, "", nil)
	if st != 200 || strings.Contains(string(body), e.acmeID) {
		t.Errorf("demo lists tenants: %d %s", st, body)
	}
	if st, body := e.do("POST", "/tenant/v2/tenants", e.demo, `{"name":"Evil"}`, nil); st != 403 {
		t.Errorf("tenant user creates tenant: %d %s", st, body)
	}
	// acme's document is untouched
	if st, body := e.do("GET", e2eConfigPath+"/latest", e.acme, "", nil); st != 200 || !strings.Contains(string(body), `"iso"`) {
		t.Errorf("acme config after probes: %d %s", st, body)
	}

	for i := 0; i < 3; i++ {
		e.publish(e.demo, "iso", "e", fmt.Sprintf(`"payload":{"from":"demo","i":%d}`, i))
		e.publish(e.acme, "iso", "e", fmt.Sprintf(`"payload":{"from":"acme","i":%d}`, i))
	}
	e.publish(e.demo, "iso", "e", `"payload":{"from":"end","i":3}`)
	e.publish(e.acme, "iso", "e", `"payload":{"from":"end","i":3}`)
	check := func(what, tenant, from string, next func() string) {
		for i := 0; i < 4; i++ {
			var item struct {
				TenantID string
				Payload  struct {
					From string
					I    int
				}
			}
			_ = json.Unmarshal([]byte(next()), &item)
			f := from
			if i == 3 {
				f = "end"
			}
			if item.TenantID != tenant || item.Payload.From != f || item.Payload.I != i {
				t.Errorf("%s item %d: %+v", what, i, item)
			}
		}
	}
	sseNext := func(c *e2eSSE) func() string { return func() string { return c.next(t).Data } }
	sioNext := func(c *e2eSIO) func() string { return func() string { _, a := c.event(); return a } }
	check("demo SSE", e.demoID, "demo", sseNext(dS))
	check("acme SSE", e.acmeID, "acme", sseNext(aS))
	check("demo Socket.IO", e.demoID, "demo", sioNext(dC))
	check("acme Socket.IO", e.acmeID, "acme", sioNext(aC))
	check("demo Socket.IO on /", e.demoID, "demo", sioNext(dRoot))

	// tenant references: slug, name, bare id; wrong id = Invalid namespace; unknown tenant SSE 404
	for _, nsp := range []string{"/acme-corp", "/Acme Corp", "/" + hex} {
		e.subscribeSIO(nsp, e2eQ("stream", "iso"), map[string]any{"token": e.acme}).close()
	}
	wrong := "0" + hex[1:]
	if wrong == hex {
		wrong = "1" + hex[1:]
	}
	if msg, _ := e.connectErr("/"+wrong, e2eQ("stream", "iso"), nil, map[string]any{"token": e.acme}); msg != "Invalid namespace" {
		t.Errorf("wrong bare id namespace: %q", msg)
	}
	if _, st, _ := e.openSSE("/stream/v1/streams/iso?tenant="+wrong, map[string]string{"Authorization": "Bearer " + e.acme}); st != 404 {
		t.Errorf("SSE unknown tenant: %d", st)
	}
}

// A core token on "/" receives a core stream's events from every tenant.
func TestE2ECoreCrossTenant(t *testing.T) {
	e := e2eStart(t, nil)
	e.patch(e.core, "", `{"operation":"UPDATE","update":{"xt":{"id":"xt","name":"X","subscriberRoles":[],"events":[{"namespace":"xt","name":"e"}]}}}`)
	e.waitListed(e.core, "demo", "xt", true)
	c := e.subscribeSIO("/", e2eQ("stream", "xt"), map[string]any{"token": e.core})
	s := e.mustSSE("/stream/v1/streams/xt", e.core) // SSE without tenant: cross-tenant for core users
	e.publish(e.demo, "xt", "e", `"payload":{"n":1}`)
	e.publish(e.acme, "xt", "e", `"payload":{"n":2}`)
	e.publish(e.core, "xt", "e", fmt.Sprintf(`"tenantId":%q,"payload":{"n":3}`, e.acmeID))
	for i, want := range []string{e.demoID, e.acmeID, e.acmeID} {
		_, a := c.event()
		ev := s.next(t)
		for what, got := range map[string]string{"Socket.IO": a, "SSE": ev.Data} {
			var item struct {
				TenantID string
				Payload  struct{ N int }
			}
			_ = json.Unmarshal([]byte(got), &item)
			if item.TenantID != want || item.Payload.N != i+1 {
				t.Errorf("%s cross-tenant item %d: %s", what, i, got)
			}
		}
	}
	// a core token without a listener role may not; a tenant token on "/" gets only its tenant
	noRole := e.mint("core", "urn:ads:platform:configuration-service:configuration-admin", "", time.Hour)
	if _, code := e.connectErr("/", e2eQ("stream", "xt"), nil, map[string]any{"token": noRole}); code != "forbidden" {
		t.Errorf("core without role: %s", code)
	}
}

// Configuration PATCH UPDATE/REPLACE/DELETE effects on live subscribers of both transports.
func TestE2EConfigChanges(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "cfg", `{"id":"cfg","name":"C","events":[{"namespace":"cfg","name":"e","map":{"v1":"payload.a"}}]}`)
	e.stream(e.demo, "demo", "keep", `{"id":"keep","name":"K","events":[{"namespace":"cfg","name":"e"}]}`)
	s := e.mustSSE("/stream/v1/streams/cfg", e.demo)
	c := e.subscribeSIO("/demo", e2eQ("stream", "cfg"), map[string]any{"token": e.demo})
	e.publish(e.demo, "cfg", "e", `"payload":{"a":1}`)
	if d := s.next(t).Data; !strings.Contains(d, `"v1":1`) {
		t.Errorf("before UPDATE: %s", d)
	}
	c.event()
	// UPDATE: the live subscriptions follow the new projection
	e.patch(e.demo, "", `{"operation":"UPDATE","update":{"cfg":{"events":[{"namespace":"cfg","name":"e","map":{"v2":"payload.a"}}]}}}`)
	deadline := time.Now().Add(e2eWait)
	for {
		_, b := e.do("GET", "/stream/v1/streams?tenant=demo", e.demo, "", nil)
		if strings.Contains(string(b), `"v2"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("UPDATE not applied")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.publish(e.demo, "cfg", "e", `"payload":{"a":2}`)
	if d := s.next(t).Data; !strings.Contains(d, `"v2":2`) || strings.Contains(d, "v1") {
		t.Errorf("SSE after UPDATE: %s", d)
	}
	if _, a := c.event(); !strings.Contains(a, `"v2":2`) {
		t.Errorf("Socket.IO after UPDATE: %s", a)
	}
	// DELETE: pushgate:close / event: close, then the transport closes
	keep := e.mustSSE("/stream/v1/streams/keep", e.demo)
	e.patch(e.demo, "", `{"operation":"DELETE","property":"cfg"}`)
	ev := s.next(t)
	if ev.Type != "close" || ev.Data != `{"reason":"stream-deleted"}` {
		t.Errorf("SSE after DELETE: %+v", ev)
	}
	if n, a := c.event(); n != "pushgate:close" || a != `{"reason":"stream-deleted"}` {
		t.Errorf("Socket.IO after DELETE: %s %s", n, a)
	}
	for what, ch := range map[string]chan struct{}{"SSE": s.closed, "Socket.IO": c.closed} {
		select {
		case <-ch:
		case <-time.After(e2eWait):
			t.Errorf("%s transport not closed after stream-deleted", what)
		}
	}
	if _, code := e.connectErr("/demo", e2eQ("stream", "cfg"), nil, map[string]any{"token": e.demo}); code != "not_found" {
		t.Errorf("reconnect after DELETE: %s", code)
	}
	// REPLACE: keep disappears, new appears
	e.patch(e.demo, "", `{"operation":"REPLACE","configuration":{"fresh":{"id":"fresh","name":"F","events":[{"namespace":"cfg","name":"e"}]}}}`)
	if ev := keep.next(t); ev.Type != "close" || ev.Data != `{"reason":"stream-deleted"}` {
		t.Errorf("SSE after REPLACE: %+v", ev)
	}
	e.waitListed(e.demo, "demo", "fresh", true)
	e.waitListed(e.demo, "demo", "keep", false)
	fresh := e.mustSSE("/stream/v1/streams/fresh", e.demo)
	e.publish(e.demo, "cfg", "e", `"payload":{"a":3}`)
	fresh.next(t)
	// permission-revoked
	e.stream(e.demo, "demo", "roles", `{"id":"roles","name":"R","subscriberRoles":["reader"],"events":[{"namespace":"cfg","name":"e"}]}`)
	reader := e.mint("demo", "reader", "", time.Hour)
	rc := e.subscribeSIO("/demo", e2eQ("stream", "roles"), map[string]any{"token": reader})
	rs := e.mustSSE("/stream/v1/streams/roles", reader)
	e.patch(e.demo, "", `{"operation":"UPDATE","update":{"roles":{"subscriberRoles":[]}}}`)
	if n, a := rc.event(); n != "pushgate:close" || a != `{"reason":"permission-revoked"}` {
		t.Errorf("Socket.IO permission-revoked: %s %s", n, a)
	}
	if ev := rs.next(t); ev.Type != "close" || ev.Data != `{"reason":"permission-revoked"}` {
		t.Errorf("SSE permission-revoked: %+v", ev)
	}
	// bad PATCH bodies
	for _, b := range []string{`{"operation":"MERGE"}`, `{bad`, `{"operation":"UPDATE","update":{"x":{"name":"no id"}}}`} {
		if st, body := e.do("PATCH", e2eConfigPath, e.demo, b, nil); st != 400 {
			t.Errorf("PATCH %s: %d %s", b, st, body)
		}
	}
}

// SSE Last-Event-ID replay and history gap; ingest validation.
func TestE2EReplayAndIngest(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "rp", `{"id":"rp","name":"R","events":[{"namespace":"rp","name":"e"}]}`)
	s := e.mustSSE("/stream/v1/streams/rp", e.demo)
	var ids []string
	for i := 1; i <= 3; i++ {
		ids = append(ids, e.publish(e.demo, "rp", "e", fmt.Sprintf(`"payload":{"n":%d}`, i)))
	}
	for i := 0; i < 3; i++ {
		if ev := s.next(t); ev.ID != ids[i] {
			t.Errorf("event %d id %s, want %s", i, ev.ID, ids[i])
		}
	}
	s.close()
	for i := 4; i <= 6; i++ {
		ids = append(ids, e.publish(e.demo, "rp", "e", fmt.Sprintf(`"payload":{"n":%d}`, i)))
	}
	r, st, body := e.openSSE("/stream/v1/streams/rp", map[string]string{"Authorization": "Bearer " + e.demo, "Last-Event-ID": ids[2]})
	if r == nil {
		t.Fatalf("resume: %d %s", st, body)
	}
	ids = append(ids, e.publish(e.demo, "rp", "e", `"payload":{"n":7}`))
	for i := 3; i < 7; i++ {
		ev := r.next(t)
		if ev.ID != ids[i] || !strings.Contains(ev.Data, fmt.Sprintf(`"n":%d`, i+1)) {
			t.Errorf("resumed event %d: %+v", i, ev)
		}
	}
	epoch := strings.SplitN(ids[0], "-", 2)[0]
	for _, last := range []string{"1-1", "garbage", "0-0", epoch + "x-1"} {
		g, st, body := e.openSSE("/stream/v1/streams/rp", map[string]string{"Authorization": "Bearer " + e.demo, "Last-Event-ID": last})
		if g == nil {
			t.Fatalf("gap %s: %d %s", last, st, body)
		}
		if ev := g.next(t); ev.Type != "reset" || ev.Data != `{"reason":"history-gap"}` {
			t.Errorf("Last-Event-ID %q: first event %+v, want reset history-gap", last, ev)
		}
		id := e.publish(e.demo, "rp", "e", `"payload":{"n":0}`)
		if ev := g.next(t); ev.ID != id {
			t.Errorf("after reset: %+v", ev)
		}
		g.close()
	}
	// ingest validation
	for what, b := range map[string]string{
		"missing namespace": `{"name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{}}`,
		"bad timestamp":     `{"namespace":"a","name":"e","timestamp":"yesterday","payload":{}}`,
		"array payload":     `{"namespace":"a","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":[1]}`,
		"invalid JSON":      `{"namespace":`,
	} {
		st, body := e.do("POST", "/event/v1/events", e.demo, b, nil)
		var eb struct{ ErrorMessage string }
		if st != 400 || json.Unmarshal(body, &eb) != nil || eb.ErrorMessage == "" {
			t.Errorf("%s: %d %s", what, st, body)
		}
	}
	big := `{"namespace":"a","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{"x":"` + strings.Repeat("x", 1<<20) + `"}}`
	if st, body := e.do("POST", "/event/v1/events", e.demo, big, nil); st != 413 {
		t.Errorf("> 1 MiB: %d %.200s", st, body)
	}
}

// Many SSE subscribers each receive every event exactly once, in order; Socket.IO too; then the
// goroutine count returns to its baseline.
func TestE2EFanOutAndGoroutines(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "fan", `{"id":"fan","name":"F","events":[{"namespace":"fan","name":"e"}]}`)
	baseline := e2eSettledGoroutines()

	const nSSE, nSIO, nEvents = 200, 50, 100
	sses := make([]*e2eSSE, nSSE)
	for i := range sses {
		sses[i] = e.mustSSE("/stream/v1/streams/fan", e.demo)
	}
	sios := make([]*e2eSIO, nSIO)
	for i := range sios {
		sios[i] = e.subscribeSIO("/demo", e2eQ("stream", "fan"), map[string]any{"token": e.demo})
	}
	ids := make([]string, nEvents)
	for i := range ids {
		ids[i] = e.publish(e.demo, "fan", "e", fmt.Sprintf(`"payload":{"i":%d}`, i))
	}
	end := e.publish(e.demo, "fan", "e", `"payload":{"i":-1}`)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(f string, a ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(f, a...))
		mu.Unlock()
	}
	for k, s := range sses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i <= nEvents; i++ {
				select {
				case ev := <-s.events:
					want := end
					if i < nEvents {
						want = ids[i]
					}
					if ev.ID != want {
						fail("SSE subscriber %d: event %d id %s, want %s", k, i, ev.ID, want)
						return
					}
				case <-time.After(10 * time.Second):
					fail("SSE subscriber %d: only %d events", k, i)
					return
				}
			}
		}()
	}
	for k, c := range sios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i <= nEvents; i++ {
				select {
				case p := <-c.packets:
					want := -1
					if i < nEvents {
						want = i
					}
					if !strings.Contains(p.Data, fmt.Sprintf(`"payload":{"i":%d}`, want)) {
						fail("Socket.IO subscriber %d: event %d = %s", k, i, p.Data)
						return
					}
				case <-time.After(10 * time.Second):
					fail("Socket.IO subscriber %d: only %d events", k, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	// nothing after the end marker
	extra := 0
	for _, s := range sses {
		extra += len(s.events)
	}
	for _, c := range sios {
		for len(c.packets) > 0 {
			if p := <-c.packets; p.Type == socketio.Event {
				extra++
			}
		}
	}
	if extra != 0 {
		t.Errorf("%d duplicate or unexpected events after the end marker", extra)
	}
	for _, s := range sses {
		s.close()
		<-s.closed
	}
	for _, c := range sios {
		c.close()
		<-c.closed
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	const tolerance = 10
	for {
		n := runtime.NumGoroutine()
		if n <= baseline+tolerance {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d after every client left, baseline %d (+%d tolerance)\n%s", n, baseline, tolerance, e2eStackSummary(buf))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.srv.SSE.Count(); n != 0 {
		t.Errorf("SSE.Count() = %d after every client left", n)
	}
}

// e2eEngineStacks returns the stacks of the goroutines running pushgate code (for hangs).
func e2eEngineStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "pushgate/engine/") && !strings.Contains(g, "shard).run") && !strings.Contains(g, "heartbeat") && !strings.Contains(g, "Bus).dispatch") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}

// e2eSettledGoroutines waits until the goroutine count stops moving and returns it.
func e2eSettledGoroutines() int {
	http.DefaultClient.CloseIdleConnections()
	last := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(10 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

func e2eStackSummary(b []byte) string {
	counts := map[string]int{}
	for _, g := range strings.Split(string(b), "\n\n") {
		sc := bufio.NewScanner(strings.NewReader(g))
		sc.Scan()
		var frame string
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "/") && !strings.Contains(line, ".go:") {
				frame = line
				break
			}
		}
		counts[frame]++
	}
	var sb strings.Builder
	for f, n := range counts {
		fmt.Fprintf(&sb, "%5d %s\n", n, f)
	}
	return sb.String()
}

// Socket.IO auth:refresh and token expiry at the protocol level.
func TestE2ETokenLifetime(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "life", `{"id":"life","name":"L","events":[{"namespace":"life","name":"e"}]}`)
	short := e.mint("demo", "stream-listener", "u1", 2*time.Second)
	c := e.subscribeSIO("/demo", e2eQ("stream", "life"), map[string]any{"token": short})
	s := e.mustSSE("/stream/v1/streams/life", short)
	longer := e.mint("demo", "stream-listener", "u1", time.Hour)
	c.write("4" + string(socketio.AppendEventAck(nil, "/demo", 7, "auth:refresh", []byte(fmt.Sprintf(`{"token":%q}`, "garbage")))))
	c.write("4" + string(socketio.AppendEventAck(nil, "/demo", 8, "auth:refresh", []byte(fmt.Sprintf(`{"token":%q}`, longer)))))
	acks := map[int64]string{}
	for len(acks) < 2 {
		p := c.next()
		if p.Type == socketio.Ack {
			acks[p.Ack] = p.Data
		}
	}
	if !strings.Contains(acks[7], `"ok":false`) {
		t.Errorf("refresh with garbage: %s", acks[7])
	}
	var ok []struct {
		OK  bool
		Exp int64
	}
	if json.Unmarshal([]byte(acks[8]), &ok) != nil || len(ok) != 1 || !ok[0].OK || ok[0].Exp < time.Now().Add(50*time.Minute).Unix() {
		t.Errorf("refresh ack: %s", acks[8])
	}
	// SSE (no refresh) ends with token-expired; the refreshed socket stays
	ev := s.next(t)
	if ev.Type != "close" || ev.Data != `{"reason":"token-expired"}` {
		t.Errorf("SSE expiry: %+v", ev)
	}
	e.publish(e.demo, "life", "e", "")
	if n, _ := c.event(); n != "life:e" {
		t.Errorf("refreshed socket got %s", n)
	}
	// an unrefreshed socket ends with pushgate:close token-expired
	c2 := e.subscribeSIO("/demo", e2eQ("stream", "life"), map[string]any{"token": e.mint("demo", "stream-listener", "u2", 1*time.Second)})
	if n, a := c2.event(); n != "pushgate:close" || a != `{"reason":"token-expired"}` {
		t.Errorf("expiry: %s %s", n, a)
	}
	select {
	case <-c2.closed:
	case <-time.After(e2eWait):
		t.Error("transport not closed after token-expired")
	}
}

// HTTP header names are case-insensitive (RFC 9110 §5.1): "authorization" (HTTP/2 proxies, curl -H
// "authorization: …") and "Last-Event-Id" (Go's canonical form) must work like their usual spelling.
func TestE2EHeaderNamesCaseInsensitive(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "hc", `{"id":"hc","name":"H","events":[{"namespace":"hc","name":"e"}]}`)
	for _, name := range []string{"authorization", "AUTHORIZATION"} {
		if c, st, body := e.openSSE("/stream/v1/streams/hc", map[string]string{name: "Bearer " + e.demo}); c == nil {
			t.Errorf("SSE with header %q: %d %s, want 200", name, st, body)
		} else {
			c.close()
		}
		if st, body := e.do("GET", "/stream/v1/streams?tenant=demo", "", "", map[string]string{name: "Bearer " + e.demo}); st != 200 {
			t.Errorf("GET /stream/v1/streams with header %q: %d %s, want 200", name, st, body)
		}
	}
	s := e.mustSSE("/stream/v1/streams/hc", e.demo)
	first := e.publish(e.demo, "hc", "e", "")
	s.next(t)
	s.close()
	second := e.publish(e.demo, "hc", "e", "")
	for _, name := range []string{"Last-Event-Id", "last-event-id"} {
		c, st, body := e.openSSE("/stream/v1/streams/hc", map[string]string{"Authorization": "Bearer " + e.demo, name: first})
		if c == nil {
			t.Fatalf("resume: %d %s", st, body)
		}
		select {
		case ev := <-c.events:
			if ev.ID != second {
				t.Errorf("resume with header %q: got %+v, want the missed event %s", name, ev, second)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("resume with header %q: the missed event %s was not replayed", name, second)
		}
		c.close()
	}
}

// Once a client has its acknowledgement (SSE 200 head, Socket.IO CONNECT reply), every event
// published afterwards must reach it: the subscription must be in place before the ack is written.
func TestE2ESubscribedWhenAcknowledged(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "ack", `{"id":"ack","name":"A","events":[{"namespace":"ack","name":"e"}]}`)
	lostSSE, lostSIO := 0, 0
	for i := 0; i < 100; i++ {
		s := e.mustSSE("/stream/v1/streams/ack", e.demo)
		c := e.subscribeSIO("/demo", e2eQ("stream", "ack"), map[string]any{"token": e.demo})
		id := e.publish(e.demo, "ack", "e", fmt.Sprintf(`"payload":{"i":%d}`, i))
		select {
		case ev := <-s.events:
			if ev.ID != id {
				lostSSE++
			}
		case <-time.After(2 * time.Second):
			lostSSE++
		}
		select {
		case p := <-c.packets:
			if !strings.Contains(p.Data, fmt.Sprintf(`"i":%d`, i)) {
				lostSIO++
			}
		case <-time.After(2 * time.Second):
			lostSIO++
		}
		s.close()
		c.close()
	}
	if lostSSE+lostSIO > 0 {
		t.Errorf("events published right after the acknowledgement were lost: SSE %d/100, Socket.IO %d/100", lostSSE, lostSIO)
	}
}
