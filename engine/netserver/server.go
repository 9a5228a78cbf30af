package netserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// Config tunes the network server. Zero values mean the documented defaults.
type Config struct {
	// Listen is the TCP address. Zero means "127.0.0.1:8080".
	Listen string
	// ReusePort sets SO_REUSEPORT on the listener so several processes can share the port.
	ReusePort bool
	// MaxHeaderBytes bounds an HTTP request head. Zero means 16 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body held in memory. Zero means 2 MiB (the REST routes and
	// the transports apply their own smaller limits and answer 413 with a JSON body).
	// Transports enforce their own smaller limits and answer 413 themselves.
	MaxBodyBytes int
	// MaxMessageBytes bounds one inbound WebSocket message. Zero means 1,000,000.
	MaxMessageBytes int
	// HeaderTimeout closes connections that do not complete a request head in time (slowloris).
	// Zero means 10s.
	HeaderTimeout time.Duration
	// IdleTimeout closes keep-alive HTTP connections without a request in flight. Zero means 60s.
	IdleTimeout time.Duration
	// MaxPendingBytes caps the bytes queued for one connection; above it the connection is closed
	// as a slow consumer. Zero means 1 MiB.
	MaxPendingBytes int
	// WriteTimeout closes a connection whose socket stays unwritable this long. Zero means 10s.
	WriteTimeout time.Duration
	// SendBuffer sets SO_SNDBUF on client sockets (0 = the kernel's auto-tuning, up to
	// net.ipv4.tcp_wmem max). A small value makes a client that stops reading hit the queue cap
	// and the write timeout sooner instead of parking megabytes in the kernel.
	SendBuffer int
	// MaxConns caps open connections (0 = no limit); over it new connections get 503.
	MaxConns int
	// MaxConnsPerIP caps open connections per client IP (0 = no limit); over it: 503.
	MaxConnsPerIP int
	// ConnectRate limits new connections per client IP per second (0 = no limit), with bursts
	// of ConnectBurst (zero means 2×rate); over it: 429 with Retry-After.
	ConnectRate  float64
	ConnectBurst int
	// Logger receives connection-level logs. Zero means slog.Default().
	Logger *slog.Logger
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 16 << 10
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 2 << 20
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1_000_000
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = 10 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.MaxPendingBytes <= 0 {
		c.MaxPendingBytes = 1 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Mount routes every request whose path starts with Prefix to Handler (on the event loop).
type Mount struct {
	Prefix  string
	Handler conn.HTTPHandler
	// Exact, when set, matches only the path equal to Prefix or Prefix+"/..." segments as a
	// prefix with a method filter; used for the SSE route.
	Method string
}

// Routes is the server's routing table: mounts first (in order), then the fasthttp fallback.
type Routes struct {
	Mounts   []Mount
	Fallback fasthttp.RequestHandler
}

// Stats are the server's counters, read with atomic loads.
type Stats struct {
	Conns          atomic.Int64
	Accepted       atomic.Int64
	Rejected       atomic.Int64 // at MaxConns
	RejectedIP     atomic.Int64 // at MaxConnsPerIP
	RejectedRate   atomic.Int64 // over ConnectRate
	SlowConsumers  atomic.Int64
	WriteTimeouts  atomic.Int64
	HeaderTimeouts atomic.Int64
	WriteSyscalls  atomic.Int64
	HandedOff      atomic.Int64 // connections passed to another process (Conn.HandOff)
	Adopted        atomic.Int64 // connections received from another process (Server.Adopt)
}

// Server is the netpoll event loop serving every route of pushgate on one port.
type Server struct {
	cfg         Config
	routes      Routes
	log         *slog.Logger
	fasthttpLog fasthttpLogger
	loop        netpoll.EventLoop
	ln          net.Listener
	poller      *writePoller
	admit       *admission
	Stats       Stats

	mu    sync.Mutex
	conns map[*Conn]struct{}
	extra []netpoll.EventLoop
	done  chan struct{}
}

var configureOnce sync.Once

// configureNetpoll shrinks netpoll's per-connection input buffer: its 8 KiB default (and 4 KiB
// minimum node) would dominate the memory of an idle connection (performance.md addendum); and
// runs its callbacks on goroutines that outlive one callback (runner.go).
func configureNetpoll() {
	configureOnce.Do(func() {
		netpoll.LinkBufferCap = 256
		_ = netpoll.Configure(netpoll.Config{BufferSize: 256, PollerNum: max(1, runtime.GOMAXPROCS(0)/2), Runner: newTaskRunner().run})
		netpoll.SetLoggerOutput(slogWriter{})
	})
}

type slogWriter struct{}

func (slogWriter) Write(p []byte) (int, error) {
	slog.Debug("netpoll", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

// New prepares a server; call Serve to run it.
func New(cfg Config, routes Routes) (*Server, error) {
	cfg.applyDefaults()
	configureNetpoll()
	s := &Server{cfg: cfg, routes: routes, log: cfg.Logger, fasthttpLog: fasthttpLogger{cfg.Logger}, conns: make(map[*Conn]struct{}), done: make(chan struct{})}
	wp, err := newWritePoller(s)
	if err != nil {
		return nil, fmt.Errorf("netserver: write poller: %w", err)
	}
	s.poller = wp
	burst := cfg.ConnectBurst
	if burst <= 0 {
		burst = int(2 * cfg.ConnectRate)
	}
	s.admit = newAdmission(cfg.MaxConnsPerIP, cfg.ConnectRate, burst)
	loop, err := netpoll.NewEventLoop(s.onRequest,
		netpoll.WithOnPrepare(s.onPrepare),
		netpoll.WithOnDisconnect(s.onDisconnect),
	)
	if err != nil {
		return nil, fmt.Errorf("netserver: event loop: %w", err)
	}
	s.loop = loop
	return s, nil
}

// Listen opens the listening socket (so callers learn the bound address before Serve).
func (s *Server) Listen() (net.Addr, error) {
	ln, err := Listen(s.cfg.Listen, s.cfg.ReusePort)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return ln.Addr(), nil
}

// UseListener serves on an already open listener (see Listen).
func (s *Server) UseListener(ln net.Listener) { s.ln = ln }

// Listen opens a TCP listener on addr, with SO_REUSEPORT when reusePort is set so several
// processes can share the port.
func Listen(addr string, reusePort bool) (net.Listener, error) {
	lc := net.ListenConfig{}
	if reusePort {
		lc.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netserver: listen %s: %w", addr, err)
	}
	return ln, nil
}

// Serve runs the event loop until Shutdown. It calls Listen first when needed.
func (s *Server) Serve() error {
	if s.ln == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	go s.poller.run()
	err := s.loop.Serve(s.ln)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("netserver: serve: %w", err)
	}
	return nil
}

// ServeListener serves an additional listener (e.g. a Unix socket other processes forward
// requests to) on the same event loop and routes. It blocks like Serve.
func (s *Server) ServeListener(ln net.Listener) error {
	loop, err := netpoll.NewEventLoop(s.onRequest,
		netpoll.WithOnPrepare(s.onPrepare),
		netpoll.WithOnDisconnect(s.onDisconnect),
	)
	if err != nil {
		return fmt.Errorf("netserver: event loop: %w", err)
	}
	s.mu.Lock()
	s.extra = append(s.extra, loop)
	s.mu.Unlock()
	if err := loop.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("netserver: serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// StopAccepting closes the listener; open connections stay.
func (s *Server) StopAccepting() {
	if s.ln != nil {
		_ = s.ln.Close()
	}
}

// Shutdown stops accepting and closes every connection with reason.
func (s *Server) Shutdown(ctx context.Context, reason conn.CloseReason) error {
	s.StopAccepting()
	for _, c := range s.Connections() {
		c.Close(reason)
	}
	err := s.loop.Shutdown(ctx)
	s.mu.Lock()
	extra := s.extra
	s.mu.Unlock()
	for _, l := range extra {
		_ = l.Shutdown(ctx)
	}
	s.poller.close()
	return err
}

// QueuedBytes sums the bytes queued on every connection (computed on demand: keeping a global
// counter current would cost an atomic on every enqueue and write of the fan-out path).
func (s *Server) QueuedBytes() int64 {
	var n int64
	for _, c := range s.Connections() {
		n += int64(c.Pending())
	}
	return n
}

// Connections returns a snapshot of open connections.
func (s *Server) Connections() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

type connKey struct{}

func (s *Server) onPrepare(nc netpoll.Connection) context.Context {
	c := newConn(s, nc, nc.RemoteAddr().String())
	if s.cfg.SendBuffer > 0 && c.fd > 0 {
		_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, s.cfg.SendBuffer)
	}
	s.Stats.Accepted.Add(1)
	n := s.Stats.Conns.Add(1)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	_ = nc.AddCloseCallback(c.onNetpollClose)
	switch {
	case s.cfg.MaxConns > 0 && n > int64(s.cfg.MaxConns):
		s.Stats.Rejected.Add(1)
		c.refuse(503, "server at connection limit")
	default:
		switch s.admit.admit(c.ip, time.Now()) {
		case tooManyForIP:
			s.Stats.RejectedIP.Add(1)
			c.refuse(503, "too many connections from this address")
		case tooFast:
			s.Stats.RejectedRate.Add(1)
			c.refuse(429, "too many new connections from this address")
		default:
			c.admitted = true
		}
	}
	return context.WithValue(context.Background(), connKey{}, c)
}

func (s *Server) onDisconnect(ctx context.Context, nc netpoll.Connection) {}

func (s *Server) onRequest(ctx context.Context, nc netpoll.Connection) error {
	c, _ := ctx.Value(connKey{}).(*Conn)
	if c == nil {
		return nc.Close()
	}
	c.onReadable()
	return nil
}

func (s *Server) forget(c *Conn) {
	if c.admitted {
		s.admit.release(c.ip)
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.Stats.Conns.Add(-1)
}
