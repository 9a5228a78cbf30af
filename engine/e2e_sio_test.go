package engine_test

// End-to-end tests of the product features against the in-process server (engine.New + Run on a
// loopback port), at the protocol level: SSE through net/http + protocol/sse.Parser, Socket.IO
// through a raw gobwas/ws WebSocket client + the protocol/engineio and protocol/socketio codecs,
// tokens from devissuer.Load(dataDir).Mint (and forged ones signed here).

import (
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
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/protocol/engineio"
	"github.com/pushgate/pushgate/protocol/socketio"
)

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
