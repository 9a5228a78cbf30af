package transport

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/socketio"
)

// ConnectError refuses a namespace CONNECT: the client receives CONNECT_ERROR with Message and
// Data (pre-encoded JSON, may be nil) and surfaces it as connect_error.
type ConnectError struct {
	Message string
	Data    []byte
}

func (e *ConnectError) Error() string { return "transport: connect refused: " + e.Message }

// Namespace is the server-side logic of one Socket.IO namespace. Calls for one socket are
// serialised except OnDisconnect.
type Namespace interface {
	// Authorize decides a CONNECT. auth is the CONNECT payload ("{}" when absent; valid only
	// during the call). Return nil to accept, a *ConnectError to refuse with a message; any other
	// error refuses with its text.
	Authorize(k *Socket, auth []byte) error
	// OnConnect runs after the CONNECT reply was sent.
	OnConnect(k *Socket)
	// OnEvent receives a client event. ev and its slices are valid only during the call.
	OnEvent(k *Socket, ev *Event)
	// OnDisconnect runs once when the socket leaves: ReasonNamespaceLeft for a client or server
	// namespace DISCONNECT, else the reason the session closed.
	OnDisconnect(k *Socket, reason conn.CloseReason)
}

// Event is one client EVENT (or BINARY_EVENT with its attachments).
type Event struct {
	Name        string
	Args        []byte // remaining array elements, e.g. `1,"2",{"3":[true]}`
	AckID       int64  // socketio.NoAck when no ack was requested
	Attachments [][]byte
	Binary      bool
}

// SocketConfig configures the Socket.IO layer. Zero values mean the defaults.
type SocketConfig struct {
	Engine EngineConfig
	// ConnectTimeout closes an Engine.IO session that joins no namespace in time. Zero means 45s.
	ConnectTimeout time.Duration
	// MaxAttachments bounds binary attachments per packet. Zero means 10.
	MaxAttachments int
	// MaxNamespaces bounds namespaces joined over one session. Zero means 16.
	MaxNamespaces int
	// CloseEvent, when set, is emitted with {"reason": …} on every joined namespace before the
	// server closes a session for the client's own conduct (rate-limited), so the application
	// learns why (pushgate: "pushgate:close").
	CloseEvent string
}

// SocketServer is a Socket.IO v5 server over an EngineServer.
type SocketServer struct {
	*EngineServer
	cfg     SocketConfig
	mu      sync.RWMutex
	static  map[string]Namespace
	dynamic func(name string) Namespace
	// names holds one copy of each namespace name joined so far (only names that resolved, so
	// as many as there are namespaces): sockets share it, and the fan-out compares names by
	// pointer instead of by bytes.
	names sync.Map
}

// NewSocketServer returns a Socket.IO server. Register namespaces before serving.
func NewSocketServer(cfg SocketConfig) *SocketServer {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 45 * time.Second
	}
	if cfg.MaxAttachments <= 0 {
		cfg.MaxAttachments = socketio.DefaultMaxAttachments
	}
	if cfg.MaxNamespaces <= 0 {
		cfg.MaxNamespaces = 16
	}
	s := &SocketServer{cfg: cfg, static: make(map[string]Namespace)}
	s.EngineServer = NewEngine(cfg.Engine, s)
	return s
}

// Handle registers a namespace by exact name ("/", "/custom").
func (s *SocketServer) Handle(name string, ns Namespace) {
	s.mu.Lock()
	s.static[name] = ns
	s.mu.Unlock()
}

// HandleDynamic sets the resolver for names without a static namespace; it returns nil for
// unknown names (the client gets "Invalid namespace").
func (s *SocketServer) HandleDynamic(fn func(name string) Namespace) {
	s.mu.Lock()
	s.dynamic = fn
	s.mu.Unlock()
}

func (s *SocketServer) resolve(name string) Namespace {
	s.mu.RLock()
	ns, dyn := s.static[name], s.dynamic
	s.mu.RUnlock()
	if ns == nil && dyn != nil {
		ns = dyn(name)
	}
	return ns
}

// client is the Socket.IO state of one Engine.IO session.
type client struct {
	srv  *SocketServer
	sess *Session
	mu   sync.Mutex
	// sockets are the joined namespaces: a slice, not a map (at most MaxNamespaces, usually one;
	// an idle connection should not carry a map).
	sockets []*Socket
	joined  bool
	// connecting counts CONNECTs being authorised: a slow token check (key discovery) must not
	// let the connect timeout close the session under it.
	connecting int
	timer      *time.Timer
	partial    *partialPacket // binary packet waiting for its attachments
}

type partialPacket struct {
	pkt         socketio.Packet
	data        []byte // copy of the header's JSON
	attachments [][]byte
}

// OnOpen implements SessionHandler.
func (s *SocketServer) OnOpen(sess *Session) {
	c := &client{srv: s, sess: sess}
	c.mu.Lock() // the timer reads c.timer under c.mu and may fire before this assignment
	c.timer = time.AfterFunc(s.cfg.ConnectTimeout, func() {
		c.mu.Lock()
		joined, busy := c.joined, c.connecting > 0
		c.mu.Unlock()
		if busy && !joined {
			c.mu.Lock()
			if c.timer != nil {
				c.timer.Reset(s.cfg.ConnectTimeout / 4) // decide once the pending CONNECT is answered
			}
			c.mu.Unlock()
			return
		}
		if !joined {
			sess.Close(conn.ReasonConnectTimeout)
		}
	})
	c.mu.Unlock()
	sess.SetData(c)
}

// OnClose implements SessionHandler: every socket of the session disconnects.
func (s *SocketServer) OnClose(sess *Session, reason conn.CloseReason) {
	c, _ := sess.Data().(*client)
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	socks := c.sockets
	c.sockets = nil
	c.mu.Unlock()
	for _, k := range socks {
		k.leave(reason)
	}
}

var errProtocol = errors.New("transport: socket.io protocol violation")

// OnMessage implements SessionHandler.
func (s *SocketServer) OnMessage(sess *Session, data []byte, binary bool) {
	c, _ := sess.Data().(*client)
	if c == nil {
		return
	}
	if err := c.onMessage(data, binary); err != nil {
		sess.Close(conn.ReasonProtocolError)
	}
}

func (c *client) onMessage(data []byte, binary bool) error {
	if binary {
		p := c.partial
		if p == nil {
			return errProtocol
		}
		p.attachments = append(p.attachments, append(make([]byte, 0, len(data)), data...))
		if len(p.attachments) < p.pkt.Attachments {
			return nil
		}
		c.partial = nil
		p.pkt.Data = p.data
		return c.dispatch(p.pkt, p.attachments)
	}
	if c.partial != nil {
		return errProtocol
	}
	pkt, err := socketio.Decode(data, c.srv.cfg.MaxAttachments)
	if err != nil {
		return err
	}
	if (pkt.Type == socketio.BinaryEvent || pkt.Type == socketio.BinaryAck) && pkt.Attachments > 0 {
		if err := socketio.ValidatePlaceholders(pkt.Data, pkt.Attachments); err != nil {
			return err
		}
		c.partial = &partialPacket{pkt: pkt, data: append([]byte(nil), pkt.Data...)}
		c.partial.pkt.Namespace = pkt.Namespace
		return nil
	}
	return c.dispatch(pkt, nil)
}

func (c *client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketLocked(nsp)
}

func (c *client) socketLocked(nsp string) *Socket {
	for _, k := range c.sockets {
		if k.Namespace == nsp {
			return k
		}
	}
	return nil
}

func (c *client) dispatch(pkt socketio.Packet, attachments [][]byte) error {
	switch pkt.Type {
	case socketio.Connect:
		return c.connect(pkt)
	case socketio.Disconnect:
		k := c.socket(pkt.Namespace)
		if k == nil {
			return errProtocol
		}
		c.remove(k)
		k.leave(conn.ReasonNamespaceLeft)
	case socketio.Event, socketio.BinaryEvent:
		k := c.socket(pkt.Namespace)
		if k == nil {
			return errProtocol
		}
		name, args, err := socketio.SplitEvent(pkt.Data)
		if err != nil {
			return err
		}
		k.ns.OnEvent(k, &Event{Name: name, Args: args, AckID: pkt.AckID, Attachments: attachments, Binary: pkt.Type == socketio.BinaryEvent})
	case socketio.Ack, socketio.BinaryAck:
		k := c.socket(pkt.Namespace)
		if k == nil {
			return errProtocol
		}
		k.onAck(pkt.AckID, pkt.Data, attachments)
	default:
		return errProtocol
	}
	return nil
}

var emptyAuth = []byte("{}")

func (c *client) connect(pkt socketio.Packet) error {
	nsp := pkt.Namespace
	c.mu.Lock()
	dup := c.socketLocked(nsp) != nil
	tooMany := len(c.sockets) >= c.srv.cfg.MaxNamespaces
	c.mu.Unlock()
	if dup {
		return errProtocol
	}
	if tooMany {
		// Before the name is resolved: the limit holds whatever the name, and a client past it
		// is told so rather than "Invalid namespace" for a name that may well exist.
		msg := "Too many namespaces on one connection (limit " + strconv.Itoa(c.srv.cfg.MaxNamespaces) + ")"
		c.sess.SendText(append([]byte{'4'}, socketio.AppendConnectError(nil, nsp, msg, []byte(`{"code":"bad_request"}`))...))
		return nil
	}
	ns := c.srv.resolve(nsp)
	if ns == nil {
		c.sess.SendText(append([]byte{'4'}, socketio.AppendConnectError(nil, nsp, "Invalid namespace", nil)...))
		return nil
	}
	auth := pkt.Data
	if len(auth) == 0 {
		auth = emptyAuth
	}
	k := &Socket{ID: NewID(), Namespace: c.srv.canonicalName(nsp), client: c, ns: ns}
	c.mu.Lock()
	c.connecting++
	c.mu.Unlock()
	err := ns.Authorize(k, auth)
	c.mu.Lock()
	c.connecting--
	c.mu.Unlock()
	if err != nil {
		var ce *ConnectError
		if !errors.As(err, &ce) {
			ce = &ConnectError{Message: err.Error()}
		}
		c.sess.SendText(append([]byte{'4'}, socketio.AppendConnectError(nil, nsp, ce.Message, ce.Data)...))
		return nil
	}
	c.mu.Lock()
	c.sockets = append(c.sockets, k)
	c.joined = true
	if c.timer != nil {
		c.timer.Stop() // joined: the connect timeout is over; drop the timer with it
		c.timer = nil
	}
	c.mu.Unlock()
	if p, ok := ns.(PreConnecter); ok {
		c.sess.Cork() // the replay and the CONNECT reply leave together (Session.Cork)
		p.PreConnect(k)
	}
	c.sess.SendText(appendConnectReply([]byte{'4'}, nsp, k.ID, k.PID))
	c.sess.Uncork()
	ns.OnConnect(k)
	return nil
}

// PreConnecter is implemented by namespaces that must send packets before the CONNECT reply:
// connection state recovery replays the missed events first, as the reference does (the client
// buffers them and emits them right after "connect"). PreConnect may also set Socket.ID and
// Socket.PID (a recovered session keeps its ids).
type PreConnecter interface {
	PreConnect(k *Socket)
}

// appendConnectReply appends CONNECT with {"sid":…} and, with connection state recovery,
// {"sid":…,"pid":…}.
func appendConnectReply(dst []byte, nsp, sid, pid string) []byte {
	if pid == "" {
		return socketio.AppendConnect(dst, nsp, sid)
	}
	data := append([]byte(`{"sid":`), socketio.AppendJSONString(nil, sid)...)
	data = append(data, `,"pid":`...)
	data = socketio.AppendJSONString(data, pid)
	data = append(data, '}')
	return socketio.AppendPacket(dst, socketio.Packet{Type: socketio.Connect, Namespace: nsp, AckID: socketio.NoAck, Data: data})
}

func (c *client) remove(k *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, k); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// Farewell implements the Engine.IO server's farewell hook: CloseEvent with the reason.
func (s *SocketServer) Farewell(sess *Session, reason conn.CloseReason) {
	if s.cfg.CloseEvent == "" {
		return
	}
	s.Notify(sess, s.cfg.CloseEvent, append(append([]byte(`{"reason":`), socketio.AppendJSONString(nil, string(reason))...), '}'))
}

// Notify emits event with one pre-encoded argument on every namespace the session has joined
// (used to tell clients why the server is about to close their transport).
func (s *SocketServer) Notify(sess *Session, event string, arg []byte) {
	for _, k := range s.Sockets(sess) {
		k.Emit(event, arg)
	}
}

// Sockets returns the sockets (joined namespaces) of a session, a copy.
func (s *SocketServer) Sockets(sess *Session) []*Socket {
	c, _ := sess.Data().(*client)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sockets)
}

// canonicalName returns the shared copy of a resolved namespace name.
func (s *SocketServer) canonicalName(nsp string) string {
	if v, ok := s.names.Load(nsp); ok {
		return v.(string)
	}
	v, _ := s.names.LoadOrStore(nsp, strings.Clone(nsp))
	return v.(string)
}
