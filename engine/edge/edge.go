package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/history"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/operator"
	"github.com/pushgate/pushgate/engine/push"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/tenant"
	"github.com/pushgate/pushgate/engine/transport"
)

// Backend is what the edge needs from the control half (see the package doc). control.Plane and
// cluster.Client implement it.
type Backend interface {
	// ResolveTenant and TenantByRealm look tenants up (any reference form; realm → URN).
	ResolveTenant(ref string) (tenant.Tenant, bool)
	TenantByRealm(realm string) (string, bool)
	// Registry returns the current compiled stream registry.
	Registry() *stream.Registry
	// OnChange registers fn to run after every change of the registry or the tenants, once the
	// change is visible through Registry and the lookups.
	OnChange(fn func())
	// Subscribe sets the single consumer of events, in source order.
	Subscribe(fn func(*source.Event))
	// OnOrder registers fn for every operator order (disconnect, revocation) this process must
	// apply, starting with the revocations still in force.
	OnOrder(fn func(*operator.Order))
	// Ready reports whether events flow and configuration is loaded.
	Ready() error
}

// Seams are how the assembling code joins the edge to the rest of its process.
type Seams struct {
	// Listener is the bound public port (bound before the public URL is known). Required.
	Listener net.Listener
	// Fallback serves every request that is not a push route: the REST API in one process, a
	// proxy to the parent in a worker. Required.
	Fallback fasthttp.RequestHandler
	// Verifier checks the tokens of connections. Required. The edge does not close it.
	Verifier *auth.Verifier
	// Metrics receives the edge's series. Required.
	Metrics prometheus.Registerer
	// Reread, when set, re-reads missed events from the source for resuming clients whose last
	// id is older than the history (Kafka; hub.Config.Reread).
	Reread func(ctx context.Context, fromID, toID string, fn func(*source.Event)) error
	// Routing sends requests for sessions of other processes to their owner.
	Routing Routing
	// Instance names this process in the connections listing. Empty means the Routing's
	// SIDPrefix without its dot, else the host name.
	Instance string
}

// Routing is the owner routing of Engine.IO sessions across processes (--workers, several
// instances): SIDPrefix starts every session id this edge creates (it names the owner), and
// Forward is offered each request whose session id carries another prefix and reports whether
// it took it (transport.EngineConfig.Forward). The zero Routing serves this process's sessions
// only.
type Routing struct {
	SIDPrefix string
	Forward   func(sid string, r *conn.Request, l conn.Link) bool
	// Migrate, when set, takes a WebSocket upgrade for another process's session over by
	// fetching the session (transport.EngineConfig.Migrate): several instances.
	Migrate func(sid string, r *conn.Request, done func(*transport.Handover, error)) bool
}

// Server is the edge half. Its exported fields are set by New and never change.
type Server struct {
	Hub *hub.Hub
	Net *netserver.Server
	SIO *transport.SocketServer
	SSE *push.SSE

	cfg       config.Config
	log       *slog.Logger
	seams     Seams
	push      *push.Deps
	pushStats push.Stats
	draining  atomic.Bool
}

// Connections lists this process's subscriptions matching f (GET /push/v1/connections).
func (s *Server) Connections(f operator.Filter) []operator.Connection {
	return operator.List(s.Hub, f, s.Instance())
}

// Receipt is this process's receipt of an event (GET /push/v1/events/{eventId}).
func (s *Server) Receipt(id, sub string) (operator.InstanceReceipt, bool) {
	return operator.Receipt(s.Hub, id, sub, s.Instance())
}

// Instance names this process in the connections listing (Seams.Instance).
func (s *Server) Instance() string {
	if s.seams.Instance != "" {
		return s.seams.Instance
	}
	if p := strings.TrimSuffix(s.seams.Routing.SIDPrefix, "."); p != "" {
		return p
	}
	h, _ := os.Hostname()
	return h
}

// New builds the edge on b. cfg must have had ApplyDefaults and carry the final PublicURL.
func New(cfg config.Config, b Backend, seams Seams) (*Server, error) {
	if seams.Listener == nil || seams.Fallback == nil || seams.Verifier == nil || seams.Metrics == nil {
		return nil, errors.New("edge: Seams.Listener, Fallback, Verifier and Metrics are required")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, seams: seams}
	s.Hub = hub.New(hub.Config{
		History: history.Config{Size: cfg.HistorySize, Age: cfg.HistoryAge},
		Offsets: cfg.RecoveryWindow > 0, Reread: seams.Reread, Tracer: cfg.Tracer,
	}, b.Registry())
	b.OnChange(func() { s.Hub.SetRegistry(b.Registry()) })
	// Read again once registered: a rebuild between hub.New and OnChange (the control half's
	// watcher runs from its start, e.g. when the tenant service answers) would otherwise leave
	// the hub on the registry before it until the next change — ready, and 404 for the
	// tenants' streams.
	s.Hub.SetRegistry(b.Registry())
	b.Subscribe(s.Hub.Publish)
	b.OnOrder(func(o *operator.Order) {
		if n := operator.Apply(o, &seams.Verifier.Revocations, s.Hub, time.Now()); n > 0 {
			s.log.Info("operator order applied", "order", o.ID, "kind", o.Kind, "by", o.By, "subscriptions_ended", n)
		}
	})

	migrate := seams.Routing.Migrate
	if migrate != nil {
		// A draining edge takes no session over: the upgrade is refused and the client keeps
		// polling its owner.
		migrate = func(sid string, r *conn.Request, done func(*transport.Handover, error)) bool {
			return !s.draining.Load() && seams.Routing.Migrate(sid, r, done)
		}
	}
	cors := cfg.CORS()
	s.push = &push.Deps{Hub: s.Hub, Tenants: b, Verify: seams.Verifier.Verify, Stats: &s.pushStats, Recovery: max(cfg.RecoveryWindow, 0)}
	s.SIO = transport.NewSocketServer(transport.SocketConfig{
		Engine: transport.EngineConfig{
			PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout, MaxPayload: cfg.MaxPayload,
			MaxBufferedBytes: cfg.MaxPendingBytes, CORS: cors, AllowOrigin: cfg.OriginAllowed,
			SIDPrefix: seams.Routing.SIDPrefix, Forward: seams.Routing.Forward, Migrate: migrate, MaxInboundRate: cfg.MaxInboundRate,
		},
		ConnectTimeout: cfg.ConnectTimeout,
		CloseEvent:     push.CloseEvent,
	})
	s.push.MountSocketIO(s.SIO)
	s.SSE = s.push.NewSSE(push.SSEConfig{Heartbeat: cfg.SSEHeartbeat, CORS: cors, MaxPerToken: cfg.MaxSSEPerToken})
	n, err := netserver.New(netserver.Config{
		Listen: cfg.Listen, ReusePort: cfg.ReusePort, MaxMessageBytes: int(cfg.MaxPayload),
		HeaderTimeout: cfg.HeaderTimeout, MaxPendingBytes: cfg.MaxPendingBytes, WriteTimeout: cfg.WriteTimeout,
		SendBuffer: cfg.SendBuffer, MaxConns: cfg.MaxConns, MaxConnsPerIP: cfg.MaxConnsPerIP, ConnectRate: cfg.ConnectRate, Logger: s.log,
	}, netserver.Routes{
		Mounts: []netserver.Mount{
			{Prefix: "/socket.io/", Handler: s.SIO},
			{Prefix: push.SSEPrefix, Handler: s.SSE, Method: "GET"},
			{Prefix: push.SSEPrefix, Handler: s.SSE, Method: "OPTIONS"},
		},
		Fallback: seams.Fallback,
	})
	if err != nil {
		s.SSE.Close()
		s.Hub.Close()
		return nil, fmt.Errorf("edge: %w", err)
	}
	s.Net = n
	s.registerMetrics(seams.Metrics)
	n.UseListener(seams.Listener)
	return s, nil
}

// Addr is the bound public address.
func (s *Server) Addr() net.Addr { return s.seams.Listener.Addr() }

// Draining reports errDraining once a drain started (for /readyz), else nil.
func (s *Server) Draining() error {
	if s.draining.Load() {
		return errDraining
	}
	return nil
}

// Run serves until ctx is done, then drains over the drain window and shuts the event loop down.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Net.Serve() }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	window := s.cfg.DrainWindow()
	dctx, dcancel := context.WithTimeout(context.Background(), window+time.Second)
	defer dcancel()
	s.Drain(dctx, window*9/10)
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.Net.Shutdown(sctx, conn.ReasonShutdown)
	s.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// Close stops the SSE heartbeat and the hub's workers.
func (s *Server) Close() {
	s.SSE.Close()
	s.Hub.Close()
}
