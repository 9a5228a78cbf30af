package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/configsvc"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/history"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/push"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/source/kafka"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/transport"
)

// Server is a running pushgate: one port, the embedded event bus, the store, the hub and the
// transports.
type Server struct {
	cfg       Config
	log       *slog.Logger
	Store     *store.Store      // nil when a Backend was given (worker processes)
	Issuer    *devissuer.Issuer // nil in production mode
	Verifier  *auth.Verifier
	Hub       *hub.Hub
	Bus       *source.Bus
	Net       *netserver.Server
	SIO       *transport.SocketServer
	SSE       *push.SSE
	API       *api.API
	Metrics   *prometheus.Registry
	addr      net.Addr
	ln        net.Listener
	done      chan struct{}
	draining  atomic.Bool
	pushStats push.Stats
	backend   Backend
	kafka     *kafka.Source
	kafkaSync *kafka.ConfigSync
	rebuildMu sync.Mutex // serialises registry rebuilds (rebuildRegistry)
}

// New opens the store, prepares every component and binds the port (so Addr is known), but
// serves nothing until Run.
func New(cfg Config) (*Server, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("engine: invalid configuration: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: data dir: %w", err)
	}
	// Bind first: with port 0 the public URL (and so the development issuer) needs the real port.
	ln, err := netserver.Listen(cfg.Listen, cfg.ReusePort)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, done: make(chan struct{}), ln: ln}
	switch {
	case cfg.Backend != nil:
		s.backend = cfg.Backend
	case cfg.Kafka != nil:
		if err := s.openKafka(*cfg.Kafka); err != nil {
			_ = ln.Close()
			return nil, err
		}
	default:
		st, err := store.Open(cfg.DataDir, store.Options{Validate: stream.ValidateDocument, Seed: stream.CoreStreams})
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("engine: %w", err)
		}
		s.Store = st
		var src EventSource
		if cfg.Source != nil {
			src = cfg.Source
		} else {
			s.Bus = source.NewBus(source.BusConfig{})
			src = s.Bus
		}
		s.backend = localBackend{Store: st, src: src}
	}
	if cfg.ConfigService != nil && cfg.Backend == nil {
		cc := *cfg.ConfigService
		cc.Logger = s.log
		r, err := configsvc.New(cc)
		if err != nil {
			_ = s.backend.Close()
			_ = ln.Close()
			return nil, fmt.Errorf("engine: configuration service: %w", err)
		}
		s.backend = newRemoteConfigBackend(s.backend, storeTenants{s.backend}, r)
	}
	if err := s.build(); err != nil {
		_ = s.backend.Close()
		_ = ln.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) build() error {
	cfg := s.cfg
	issuerBase := cfg.OIDCBase
	if cfg.DevMode() {
		issuerBase = cfg.PublicURL + "/auth"
	}
	if cfg.DevMode() && s.Store != nil {
		iss, err := devissuer.Open(cfg.DataDir, issuerBase)
		if err != nil {
			return fmt.Errorf("engine: development issuer: %w", err)
		}
		s.Issuer = iss
	}
	v, err := auth.NewVerifier(auth.Config{IssuerBase: issuerBase}, s.backend)
	if err != nil {
		return fmt.Errorf("engine: verifier: %w", err)
	}
	s.Verifier = v

	core, tenants := s.backend.AllConfigs()
	reg, err := stream.Build(core, tenants)
	if err != nil {
		// Build skips invalid documents and still returns a usable registry.
		s.log.Error("stream registry: some documents were skipped", "err", err)
	}
	hcfg := hub.Config{History: history.Config{Size: cfg.HistorySize, Age: cfg.HistoryAge}, Offsets: cfg.RecoveryWindow > 0}
	if s.kafka != nil {
		hcfg.Reread = s.reread
	}
	s.Hub = hub.New(hcfg, reg)
	s.backend.Subscribe(s.Hub.Publish)

	cors := s.cors()
	deps := &push.Deps{Hub: s.Hub, Tenants: s.backend, Verify: s.verify, Stats: &s.pushStats, Recovery: max(cfg.RecoveryWindow, 0)}
	s.SIO = transport.NewSocketServer(transport.SocketConfig{
		Engine: transport.EngineConfig{
			PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout, MaxPayload: cfg.MaxPayload,
			MaxBufferedBytes: cfg.MaxPendingBytes, CORS: cors, AllowOrigin: s.originAllowed,
			SIDPrefix: cfg.SIDPrefix, Forward: cfg.ForwardPolling, MaxInboundRate: cfg.MaxInboundRate,
		},
		ConnectTimeout: cfg.ConnectTimeout,
		CloseEvent:     "pushgate:close",
	})
	deps.MountSocketIO(s.SIO)
	s.SSE = deps.NewSSE(push.SSEConfig{Heartbeat: cfg.SSEHeartbeat, CORS: cors, MaxPerToken: cfg.MaxSSEPerToken})

	s.Metrics = metrics.Registry()
	var issuer api.Issuer
	if s.Issuer != nil {
		issuer = s.Issuer
	}
	fallback := cfg.Fallback
	if s.Store != nil {
		var pub source.Publisher
		switch {
		case cfg.Publisher != nil:
			pub = cfg.Publisher
		case s.kafka != nil:
			pub = s.kafka
		case s.Bus != nil:
			pub = s.Bus
		}
		s.API = api.New(api.Deps{
			Store: s.Store, Verify: s.verify, Registry: s.Hub.Registry, Publisher: pub, Issuer: issuer,
			PublicURL: cfg.PublicURL, Ready: s.ready, Gatherer: s.Metrics, Logger: s.log,
			Applied: s.rebuildRegistry,
			Extra:   ConsoleRoutes(&cfg, s.Issuer, s.Store, s.verify, s.Metrics), // web console (console.go)
		})
		fallback = s.API.Handle
	}
	maxMsg := int(cfg.MaxPayload)
	n, err := netserver.New(netserver.Config{
		Listen: cfg.Listen, ReusePort: cfg.ReusePort, MaxMessageBytes: maxMsg,
		HeaderTimeout: cfg.HeaderTimeout, MaxPendingBytes: cfg.MaxPendingBytes, WriteTimeout: cfg.WriteTimeout,
		SendBuffer: cfg.SendBuffer, MaxConns: cfg.MaxConns, MaxConnsPerIP: cfg.MaxConnsPerIP, ConnectRate: cfg.ConnectRate, Logger: s.log,
	}, netserver.Routes{
		Mounts: []netserver.Mount{
			{Prefix: "/socket.io/", Handler: s.SIO},
			{Prefix: push.SSEPrefix, Handler: s.SSE, Method: "GET"},
			{Prefix: push.SSEPrefix, Handler: s.SSE, Method: "OPTIONS"},
		},
		Fallback: fallback,
	})
	if err != nil {
		return err
	}
	s.Net = n
	s.registerMetrics()
	s.registerKafkaMetrics()
	n.UseListener(s.ln)
	s.addr = s.ln.Addr()
	return nil
}

func (s *Server) verify(ctx context.Context, token string) (*auth.Principal, error) {
	return s.Verifier.Verify(ctx, token)
}

func (s *Server) cors() transport.CORS {
	o := s.cfg.AllowedOrigins
	if s.cfg.DevMode() && (len(o) == 0 || slices.Contains(o, "*")) {
		return transport.CORS{AllowAll: true}
	}
	return transport.CORS{Origins: o}
}

// originAllowed guards WebSocket upgrades against cross-site hijacking in production mode.
func (s *Server) originAllowed(origin string) bool {
	c := s.cors()
	if c.AllowAll {
		return true
	}
	if c.Allowed(origin) {
		return true
	}
	u := s.cfg.PublicURL
	return origin == u // same origin
}

func (s *Server) ready() error {
	if s.draining.Load() {
		return errDraining
	}
	return s.backend.Ready()
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.addr }

// URL is the base URL to reach this server.
func (s *Server) URL() string { return "http://" + s.addr.String() }

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	go s.watchConfig(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.Net.Serve() }()
	s.logStart()
	select {
	case err := <-errc:
		s.close()
		return err
	case <-ctx.Done():
	}
	window := s.cfg.DrainTimeout
	if window == 0 {
		window = 10 * time.Second
	}
	dctx, dcancel := context.WithTimeout(context.Background(), window+time.Second)
	defer dcancel()
	s.drain(dctx, window*9/10)
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.Net.Shutdown(sctx, transport.ReasonShutdown)
	s.close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (s *Server) close() {
	s.SSE.Close()
	_ = s.backend.Close()
	s.Hub.Close()
	s.Verifier.Close()
}

// watchConfig rebuilds the stream registry after every tenant or configuration change (the store
// notifies as soon as a change commits, well within the 1 s the issue asks for).
func (s *Server) watchConfig(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.backend.Changes():
		}
		s.rebuildRegistry()
	}
}

// rebuildRegistry compiles the stored documents into a new registry and installs it. It runs
// for every change notification and, synchronously, after this instance's own API writes
// (api.Deps.Applied); the lock keeps a rebuild from an older read replacing a newer one.
func (s *Server) rebuildRegistry() {
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	core, tenants := s.backend.AllConfigs()
	reg, err := stream.Build(core, tenants)
	if err != nil {
		s.log.Error("stream registry rebuild failed; keeping the previous one", "err", err)
		return
	}
	s.Hub.SetRegistry(reg)
}

func (s *Server) logStart() {
	u := s.cfg.PublicURL
	src := "embedded"
	if s.kafka != nil {
		src = "kafka"
	}
	s.log.Info("pushgate listening", "addr", s.addr.String(), "mode", map[bool]string{true: "development", false: "production"}[s.cfg.DevMode()], "source", src)
	if s.cfg.DevMode() {
		s.log.Warn("development mode: any origin is accepted and the development token issuer is on; set --oidc-base and --allowed-origins in production")
	}
	for _, r := range []string{"/", "/health", "/readyz", "/metrics", "/swagger/docs/v1", "/stream/v1/streams", "/stream/v1/streams/{stream}", "/socket.io/", "/event/v1/events", "/tenant/v2/tenants", "/configuration/v2/configuration/platform/push-service"} {
		s.log.Info("route", "url", u+r)
	}
	if s.cfg.ConsoleEnabled() {
		s.log.Info("web console", "url", u+"/console")
	}
	if s.cfg.DevMode() {
		s.log.Info("get a token", "command", fmt.Sprintf("pushgate token --data-dir %s --tenant demo --roles stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin", s.cfg.DataDir))
	}
}

// Config returns the effective configuration.
func (s *Server) Config() Config { return s.cfg }
