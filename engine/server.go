package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/cluster"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/control"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/edge"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/operator"
	"github.com/pushgate/pushgate/engine/push"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/transport"
)

// Config is what an operator sets (engine/config): every flag of `pushgate serve`.
type Config = config.Config

// Server is one pushgate process: the control half and the edge half joined in-process (the
// Plane is the edge's Backend). The fields below are shortcuts into the halves, for tests and
// tools; they never change after New.
type Server struct {
	Control *control.Plane
	Edge    *edge.Server

	Store    *store.Store
	Issuer   *devissuer.Issuer // nil in production mode
	Verifier *auth.Verifier
	Bus      *source.Bus // nil with Kafka
	API      *api.API
	Hub      *hub.Hub
	Net      *netserver.Server
	SIO      *transport.SocketServer
	SSE      *push.SSE
	Metrics  *prometheus.Registry

	cfg   Config
	log   *slog.Logger
	ready readyChecks
	inst  *cluster.Instance // nil unless Options.Instance
}

// Options are how a process is assembled beyond the operator's settings.
type Options struct {
	// Instance, when set, makes this process one of several Kafka-mode instances behind a
	// balancer (engine/cluster "Many instances"): its routing sends requests for other
	// instances' sessions to their owner, and once the server is built it serves its own sessions
	// to the others and announces itself. The server closes it after the drain.
	Instance *cluster.Instance
}

// New binds the port (so Addr and the public URL are known), opens the control half and builds
// the edge on it, but serves nothing until Run.
func New(cfg Config) (*Server, error) { return Assemble(cfg, Options{}) }

// Assemble is New with the assembly options: the one constructor of a process serving clients.
func Assemble(cfg Config, o Options) (s *Server, err error) {
	cfg.ApplyDefaults()
	var routing edge.Routing
	if o.Instance != nil {
		routing = o.Instance.Routing(&cfg)
		defer func() {
			if err != nil {
				_ = o.Instance.Close()
			}
		}()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("engine: invalid configuration: %w", err)
	}
	// Bind first: with port 0 the public URL (and so the development issuer) needs the real port.
	ln, err := netserver.Listen(cfg.Listen, cfg.ReusePort)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	s = &Server{cfg: cfg, log: cfg.Logger, Metrics: metrics.Registry(), inst: o.Instance}
	cp, err := control.New(cfg, control.Options{Gatherer: s.Metrics, Metrics: s.Metrics, Ready: s.localReady})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	e, err := edge.New(cfg, cp, edge.Seams{
		Listener: ln, Fallback: cp.API.Handle, Verifier: cp.Verifier, Metrics: s.Metrics, Reread: cp.Reread(),
		Routing: routing,
	})
	if err != nil {
		cp.Close()
		_ = ln.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	cp.SetEdges(localEdge{e})
	s.Control, s.Edge = cp, e
	s.Store, s.Issuer, s.Verifier, s.Bus, s.API = cp.Store, cp.Issuer, cp.Verifier, cp.Bus, cp.API
	s.Hub, s.Net, s.SIO, s.SSE = e.Hub, e.Net, e.SIO, e.SSE
	s.registerReadyMetric()
	if o.Instance != nil {
		if err := o.Instance.Attach(cluster.Host{
			Config: cfg, Edge: e, Control: cp, Metrics: s.Metrics, AddReadyCheck: s.AddReadyCheck,
		}); err != nil {
			cp.Close()
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	return s, nil
}

// draining is the edge's part of readiness (it may be asked before the edge exists).
func (s *Server) draining() error {
	if s.Edge == nil {
		return nil
	}
	return s.Edge.Draining()
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.Edge.Addr() }

// URL is the base URL to reach this server.
func (s *Server) URL() string { return "http://" + s.Addr().String() }

// Run serves until ctx is done, then drains the edge and closes the control half.
func (s *Server) Run(ctx context.Context) error {
	s.logStart()
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() { defer close(watched); s.watchReadiness(stop) }()
	defer func() { close(stop); <-watched }()
	err := s.Edge.Run(ctx)
	if s.inst != nil { // after the drain: forwarded sessions were served until then
		if cerr := s.inst.Close(); cerr != nil {
			s.log.Warn("cluster instance close", "err", cerr)
		}
	}
	s.Control.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Config returns the effective configuration.
func (s *Server) Config() Config { return s.cfg }

// localEdge is the one edge of a single process, as the control half's operator routes ask it.
type localEdge struct{ e *edge.Server }

func (l localEdge) Connections(f operator.Filter) ([]operator.Connection, error) {
	return l.e.Connections(f), nil
}

func (l localEdge) Receipts(id, sub string) ([]operator.InstanceReceipt, error) {
	if r, ok := l.e.Receipt(id, sub); ok {
		return []operator.InstanceReceipt{r}, nil
	}
	return nil, nil
}
