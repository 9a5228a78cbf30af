package push

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/bytedance/sonic"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/transport"
)

// AuthTimeout bounds token verification during a CONNECT (JWKS discovery may be remote).
const AuthTimeout = 5 * time.Second

// MountSocketIO registers the tenant namespaces on srv: "/" (core users cross-tenant, tenant users
// their own tenant) and "/<tenant>" for every tenant reference the store resolves. Unknown
// tenants get "Invalid namespace".
func (d *Deps) MountSocketIO(srv *transport.SocketServer) {
	srv.HandleDynamic(func(name string) transport.Namespace {
		if name == "/" {
			return &namespace{d: d, defaultNS: true}
		}
		ref := name[1:]
		if _, ok := d.Tenants.ResolveTenant(ref); !ok {
			return nil
		}
		return &namespace{d: d, tenantRef: ref}
	})
}

type namespace struct {
	d         *Deps
	defaultNS bool
	tenantRef string
}

// connectAuth is the CONNECT payload: the token and (winning over the handshake query, which
// belongs to the whole Engine.IO session) the stream selection.
type connectAuth struct {
	Token    *string  `json:"token"`
	Stream   *string  `json:"stream"`
	Criteria sonicRaw `json:"criteria"`
	// PID and Offset are sent by socket.io-client ≥ 4.6 when reconnecting a recoverable session.
	PID    *string `json:"pid"`
	Offset *string `json:"offset"`
}

type sonicRaw []byte

func (r *sonicRaw) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// member is one Socket.IO subscriber.
type member struct {
	k   *transport.Socket
	d   *Deps
	sub *hub.Subscription
	// criteria is the subscription's criteria as the client sent them (nil for none): they move
	// with the socket (Export).
	criteria []byte
	// resume is the parked socket being recovered and offset the client's last event id.
	resume    *parked
	resumePID string
	offset    string
	mu        sync.Mutex
	exp       time.Time
	timer     *time.Timer
	left      bool // OnDisconnect ran: arm no timer (OnConnect may run after it on a quick close)
}

func (n *namespace) Authorize(k *transport.Socket, raw []byte) error {
	var a connectAuth
	// ConfigStd copies strings: raw aliases the connection's input buffer, and the pid outlives
	// this call.
	if err := sonic.ConfigStd.Unmarshal(raw, &a); err != nil {
		return &transport.ConnectError{Message: "Invalid auth payload.", Data: codeJSON("bad_request")}
	}
	sess := k.Session()
	q := sess.Query()
	r := request{defaultNS: n.defaultNS, tenantRef: n.tenantRef}
	switch {
	case a.Token != nil:
		r.token, r.hasToken = *a.Token, true
	case sess.Authorization != "":
		r.token, r.hasToken = bearer(sess.Authorization)
	case q.Has("token"):
		r.token, r.hasToken = q.Get("token"), true
	}
	r.streamID = q.Get("stream")
	if a.Stream != nil {
		r.streamID = *a.Stream
	}
	r.criteria = criteriaBytes(a.Criteria, q.Get("criteria"))
	ctx, cancel := context.WithTimeout(context.Background(), AuthTimeout)
	defer cancel()
	g, f := n.d.authorize(ctx, r)
	if f != nil {
		n.d.Stats.refused(TransportSocketIO, f)
		return &transport.ConnectError{Message: f.Message, Data: codeJSON(f.Code)}
	}
	n.d.Stats.accepted(TransportSocketIO)
	m := &member{k: k, d: n.d, exp: g.principal.Expires, criteria: r.criteria}
	m.sub = &hub.Subscription{
		Stream: g.stream.Key(), StreamID: g.stream.ID, Scope: g.stream.TenantID,
		Criteria: g.criteria, Principal: g.principal, Sink: m,
		Conn: hub.ConnInfo{ID: sess.ID, Transport: "socketio", Remote: sess.RemoteAddr, Since: time.Now(), Queued: sess.QueuedBytes},
	}
	if rec := n.d.recovery(); rec != nil {
		k.PID = newPID()
		if a.PID != nil && a.Offset != nil && *a.PID != "" && *a.Offset != "" {
			p, ok := rec.take(*a.PID, n.d.now())
			if !ok || p.nsp != k.Namespace || p.streamKey != m.sub.Stream {
				// Not parked here: the session lived on another instance (or this one
				// forgot it). Event ids are instance-independent, so the missed events can
				// still be replayed from the offset; the socket gets a new id. The token and
				// the permission were checked above like for any CONNECT.
				p = parked{nsp: k.Namespace, streamKey: m.sub.Stream}
			}
			m.resume, m.resumePID, m.offset = &p, *a.PID, *a.Offset
		}
	}
	k.Data = m
	return nil
}

// PreConnect implements transport.PreConnecter: subscribe before the CONNECT reply, replaying the
// events missed since the client's offset when it is recovering; a recovered socket keeps its
// socket id and pid, so socket.io-client reports socket.recovered === true.
func (n *namespace) PreConnect(k *transport.Socket) {
	m, _ := k.Data.(*member)
	if m == nil {
		return
	}
	if m.resume == nil {
		n.d.Hub.Subscribe(m.sub, "", nil)
		return
	}
	if n.d.Hub.Subscribe(m.sub, m.offset, nil) {
		if m.resume.sid != "" {
			k.ID = m.resume.sid
		}
		k.PID = m.resumePID
	}
}

// criteriaBytes takes auth.criteria (an object, or a JSON string holding one) over the query.
func criteriaBytes(fromAuth sonicRaw, fromQuery string) []byte {
	if len(fromAuth) > 0 && string(fromAuth) != "null" {
		if fromAuth[0] == '"' {
			var s string
			if sonic.Unmarshal(fromAuth, &s) == nil {
				return []byte(s)
			}
		}
		return fromAuth
	}
	if fromQuery != "" {
		return []byte(fromQuery)
	}
	return nil
}

func codeJSON(code string) []byte { return []byte(`{"code":"` + code + `"}`) }

func (n *namespace) OnConnect(k *transport.Socket) {
	m, _ := k.Data.(*member)
	if m == nil {
		return
	}
	m.armExpiry()
}

func (n *namespace) OnEvent(k *transport.Socket, ev *transport.Event) {
	m, _ := k.Data.(*member)
	if m == nil || ev.Name != "auth:refresh" {
		return
	}
	m.refresh(ev)
}

func (n *namespace) OnDisconnect(k *transport.Socket, reason conn.CloseReason) {
	m, _ := k.Data.(*member)
	if m == nil {
		return
	}
	n.d.Hub.Unsubscribe(m.sub)
	if reason.Recoverable() {
		n.d.recovery().park(k.PID, parked{sid: k.ID, nsp: k.Namespace, streamKey: m.sub.Stream, at: n.d.now()})
	}
	m.mu.Lock()
	m.left = true
	if m.timer != nil {
		m.timer.Stop()
	}
	m.mu.Unlock()
}

// Deliver implements hub.Sink.
func (m *member) Deliver(it *hub.Item) (conn.Link, conn.Outcome) {
	return m.k.DeliverAt(it.SocketIO(m.k.Namespace), it.Event.ID)
}

// End implements hub.Sink: say why, then close the transport so the client reconnects (and is
// told the stream is gone, or that it may no longer subscribe, by CONNECT_ERROR).
func (m *member) End(reason conn.CloseReason) {
	m.tell(reason)
	m.k.CloseTransport(reason)
}

// tell counts a server-initiated end and says why on the member's namespace.
func (m *member) tell(reason conn.CloseReason) {
	m.d.Stats.ended(reason)
	m.k.Emit(CloseEvent, closeJSON(reason))
}

// end is the one way the server ends a Socket.IO subscription: the hub lets go of it first, so
// of several parties ending it (a configuration change, the token's expiry, a drain) exactly one
// goes on to tell the client.
func (m *member) end(reason conn.CloseReason) {
	if m.d.Hub.Unsubscribe(m.sub) {
		m.End(reason)
	}
}

// EndSession ends every subscription of a Socket.IO session for reason — each told once,
// through the same path as any server-initiated end — and then closes the session's transport
// once (a drain: conn.ReasonShutdown).
func (d *Deps) EndSession(srv *transport.SocketServer, sess *transport.Session, reason conn.CloseReason) {
	for _, k := range srv.Sockets(sess) {
		if m, _ := k.Data.(*member); m != nil && d.Hub.Unsubscribe(m.sub) {
			m.tell(reason)
		}
	}
	sess.Close(reason)
}

// armExpiry ends the connection with "token-expired" at the token's exp, unless refreshed.
func (m *member) armExpiry() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exp.IsZero() || m.left {
		return
	}
	d := m.exp.Sub(m.d.now())
	if m.timer == nil {
		m.timer = time.AfterFunc(d, m.expired)
		return
	}
	m.timer.Reset(d)
}

func (m *member) expired() {
	m.mu.Lock()
	late := !m.exp.IsZero() && !m.d.now().Before(m.exp)
	m.mu.Unlock()
	if late {
		m.end(conn.ReasonTokenExpired)
	}
}

// refresh handles `auth:refresh` {"token": "..."}: a valid token of the same subject and realm
// (core, or the same tenant) that may still subscribe extends the connection; the ack says so.
func (m *member) refresh(ev *transport.Event) {
	var body struct {
		Token string `json:"token"`
	}
	args := append(append([]byte{'['}, ev.Args...), ']')
	var arr []sonicRaw
	if sonic.Unmarshal(args, &arr) != nil || len(arr) == 0 || sonic.Unmarshal(arr[0], &body) != nil || body.Token == "" {
		m.k.Ack(ev, []byte(`{"ok":false,"error":"expected {\"token\": \"...\"}"}`), nil)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), AuthTimeout)
	defer cancel()
	p, err := m.d.Verify(ctx, body.Token)
	switch {
	case err != nil:
		m.k.Ack(ev, []byte(`{"ok":false,"error":"invalid token"}`), nil)
		return
	case p.Subject != m.sub.Principal.Subject:
		m.k.Ack(ev, []byte(`{"ok":false,"error":"token subject differs"}`), nil)
		return
	case p.Core != m.sub.Principal.Core || p.TenantID != m.sub.Principal.TenantID:
		// A subject is unique within a realm only: a core token (which may subscribe to any
		// tenant's streams) or another tenant's with the same sub is another user.
		m.k.Ack(ev, []byte(`{"ok":false,"error":"token realm differs from the connection's"}`), nil)
		return
	}
	s, ok := m.d.Hub.Registry().Lookup(m.sub.Scope, m.sub.StreamID)
	if !ok || !s.CanSubscribe(p) {
		m.k.Ack(ev, []byte(`{"ok":false,"error":"not permitted"}`), nil)
		return
	}
	m.sub.Refreshed(p)
	m.mu.Lock()
	m.exp = p.Expires
	m.mu.Unlock()
	m.armExpiry()
	m.k.Ack(ev, []byte(`{"ok":true,"exp":`+strconv.FormatInt(p.Expires.Unix(), 10)+`}`), nil)
}

var _ hub.Sink = (*member)(nil)
var _ = auth.AnonymousPrincipal
