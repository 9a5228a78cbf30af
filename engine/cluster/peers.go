package cluster

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/engineio"
)

// Instance-to-instance forwarding (see doc.go "Many instances"). A request relayed to another
// instance carries, as the line right after its request line,
//
//	X-Pushgate-Cluster-Auth: v1 <unix milliseconds> <base64url 12-byte nonce> <base64url HMAC-SHA256>
//
// where the HMAC, keyed with --cluster-secret, covers "pushgate-cluster v1\n<ms>\n<nonce>\n"
// followed by the request exactly as the client sent it (request line, headers and body, without
// this line). The owner's Gate checks it (constant-time) and the timestamp (±MaxClockSkew), and
// refuses a signature it has already accepted, before the request reaches the Engine.IO server.

// AuthHeader is the header that authenticates a forwarded request.
const AuthHeader = "X-Pushgate-Cluster-Auth"

// MaxClockSkew bounds how old (or how far in the future) a forwarded request's timestamp may be.
const MaxClockSkew = 30 * time.Second

// InstanceSIDPrefix is the Engine.IO session-id prefix of instance id: "<id>.".
func InstanceSIDPrefix(id string) string { return id + "." }

// instanceOf returns the instance id a sid starts with ("a1b2.xyz" → "a1b2").
func instanceOf(sid string) (string, bool) {
	id, _, ok := strings.Cut(sid, ".")
	if !ok || !ValidInstanceID(id) {
		return "", false
	}
	return id, true
}

// ValidInstanceID reports whether id may name an instance: 1–32 of [a-z0-9-], not "w<digits>"
// (the worker prefix).
func ValidInstanceID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	if _, ok := ownerOf(id + "."); ok {
		return false
	}
	return true
}

func authMAC(secret []byte, ms, nonce string, raw []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("pushgate-cluster v1\n"))
	m.Write([]byte(ms))
	m.Write([]byte{'\n'})
	m.Write([]byte(nonce))
	m.Write([]byte{'\n'})
	m.Write(raw)
	return m.Sum(nil)
}

// Sign returns raw (one HTTP request) with the AuthHeader line inserted after its request line.
func Sign(secret, raw []byte, now time.Time) []byte {
	i := bytes.Index(raw, []byte("\r\n"))
	if i < 0 {
		return raw
	}
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	var nb [12]byte
	_, _ = rand.Read(nb[:])
	nonce := base64.RawURLEncoding.EncodeToString(nb[:])
	mac := base64.RawURLEncoding.EncodeToString(authMAC(secret, ms, nonce, raw))
	out := make([]byte, 0, len(raw)+len(AuthHeader)+len(ms)+len(nonce)+len(mac)+8)
	out = append(out, raw[:i+2]...)
	out = append(out, AuthHeader+": v1 "...)
	out = append(out, ms...)
	out = append(out, ' ')
	out = append(out, nonce...)
	out = append(out, ' ')
	out = append(out, mac...)
	out = append(out, "\r\n"...)
	return append(out, raw[i+2:]...)
}

// Verify checks the AuthHeader line of a signed request (Sign): present right after the request
// line, a timestamp within MaxClockSkew of now, and the HMAC of the request without that line.
func Verify(secret, signed []byte, now time.Time) error {
	_, err := verify(secret, signed, now)
	return err
}

// macEncoding decodes signatures strictly: unpadded base64 leaves unused low bits in the last
// character, and a lenient decoder would accept four spellings of one MAC (three replays).
var macEncoding = base64.RawURLEncoding.Strict()

// verify is Verify that also returns the signature as its decoded bytes (the Gate refuses to see
// one twice, whatever its spelling).
func verify(secret, signed []byte, now time.Time) (string, error) {
	i := bytes.Index(signed, []byte("\r\n"))
	if i < 0 {
		return "", errors.New("cluster: not an HTTP request")
	}
	rest := signed[i+2:]
	prefix := []byte(AuthHeader + ": v1 ")
	if len(rest) < len(prefix) || !bytes.EqualFold(rest[:len(prefix)], prefix) {
		return "", errors.New("cluster: request not signed")
	}
	end := bytes.Index(rest, []byte("\r\n"))
	if end < 0 {
		return "", errors.New("cluster: malformed " + AuthHeader)
	}
	f := strings.Split(string(rest[len(prefix):end]), " ")
	if len(f) != 3 {
		return "", errors.New("cluster: malformed " + AuthHeader)
	}
	ms, nonce, mac := f[0], f[1], f[2]
	t, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return "", errors.New("cluster: malformed " + AuthHeader + " timestamp")
	}
	if d := now.Sub(time.UnixMilli(t)); d > MaxClockSkew || d < -MaxClockSkew {
		return "", errors.New("cluster: signed request too old or from the future (clock skew?)")
	}
	got, err := macEncoding.DecodeString(mac)
	if err != nil || len(got) != sha256.Size {
		return "", errors.New("cluster: malformed " + AuthHeader + " signature")
	}
	raw := make([]byte, 0, len(signed))
	raw = append(append(raw, signed[:i+2]...), rest[end+2:]...)
	if !hmac.Equal(got, authMAC(secret, ms, nonce, raw)) {
		return "", errors.New("cluster: bad signature")
	}
	return string(got), nil
}

// PeerConfig configures NewPeerForwarder.
type PeerConfig struct {
	// Self is this instance's id; its own sids are never forwarded.
	Self string
	// SelfAddr is this instance's advertised internal address: a stale directory entry naming
	// it is not forwarded to (it would loop).
	SelfAddr string
	// Lookup returns a live instance's internal address (kafkadir.Directory.Lookup).
	Lookup func(id string) (addr string, ok bool)
	// Secret keys the HMAC of every forwarded request. Required.
	Secret []byte
	// Timeout bounds one polling exchange (above the ping interval). Zero means 60s.
	Timeout time.Duration
}

// NewPeerForwarder forwards requests for other instances' sessions ("<id>.…") to their owner's
// internal address: polling requests signed and relayed; a WebSocket upgrade moves the session
// here instead (Migrate, migrate.go).
// An id the directory does not know alive is not taken: the client gets "Session ID unknown".
func NewPeerForwarder(cfg PeerConfig) *Forwarder {
	var f *Forwarder
	f = newForwarder("", cfg.Timeout, func(sid string) (owner, bool) {
		id, ok := f.moved.lookup(sid, time.Now())
		if !ok {
			id, ok = instanceOf(sid)
		}
		if !ok || id == cfg.Self {
			return owner{}, false
		}
		addr, ok := cfg.Lookup(id)
		if !ok || addr == cfg.SelfAddr {
			return owner{}, false
		}
		return owner{key: "tcp:" + addr, network: "tcp", addr: addr, worker: -1}, true
	})
	f.self = cfg.Self
	secret := append([]byte(nil), cfg.Secret...)
	f.sign = func(raw []byte) []byte { return Sign(secret, raw, time.Now()) }
	return f
}

// Gate guards the internal listener: it passes a request to the Engine.IO server only when it
// is signed with the cluster secret (Verify) and names a session of this instance; anything else
// is answered without touching a session (403, or "Session ID unknown").
type Gate struct {
	secret []byte
	prefix string
	next   conn.HTTPHandler
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // decoded signatures accepted within MaxClockSkew: a replay is refused

	// Held, when set, reports whether a session of another prefix lives here (taken over).
	Held func(sid string) bool

	Served   atomic.Int64 // forwarded requests passed to the Engine.IO server
	Rejected atomic.Int64 // requests refused for a missing or bad signature
}

// NewGate guards next (the Socket.IO server) for the instance whose sids start with prefix.
func NewGate(secret []byte, prefix string, next conn.HTTPHandler) *Gate {
	return &Gate{secret: append([]byte(nil), secret...), prefix: prefix, next: next, now: time.Now, seen: map[string]time.Time{}}
}

// firstUse records mac and reports whether it was not seen within the skew window (a signed
// request captured on the wire cannot be injected again).
func (g *Gate) firstUse(mac string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, dup := g.seen[mac]; dup {
		return false
	}
	if len(g.seen) >= 1024 && len(g.seen)%1024 == 0 {
		for k, at := range g.seen {
			if now.Sub(at) > 2*MaxClockSkew {
				delete(g.seen, k)
			}
		}
	}
	g.seen[mac] = now
	return true
}

// ServeRequest implements conn.HTTPHandler.
func (g *Gate) ServeRequest(r *conn.Request, l conn.Link) conn.WSHandler {
	if !g.admit(r, l) {
		return nil
	}
	// A session this instance took over from another (Migrate) carries that one's prefix.
	if sid := r.Query.Get("sid"); sid == "" || !strings.HasPrefix(sid, g.prefix) && (g.Held == nil || !g.Held(sid)) {
		l.Respond(sessionUnknown(r.Origin))
		return nil
	}
	g.Served.Add(1)
	return g.next.ServeRequest(r, l)
}

// admit checks r's signature (once per signature) and answers 403 when it fails.
func (g *Gate) admit(r *conn.Request, l conn.Link) bool {
	now := g.now()
	mac, err := verify(g.secret, r.Raw, now)
	if err == nil && !g.firstUse(mac, now) {
		err = errors.New("cluster: replayed request")
	}
	if err != nil {
		g.Rejected.Add(1)
		l.Respond(&conn.Response{Status: 403, ContentType: "application/json", Close: true,
			Body: [][]byte{engineio.AppendErrorMessage(nil, engineio.ErrForbidden, "cluster authentication failed")}})
		return false
	}
	return true
}
