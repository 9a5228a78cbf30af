package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/source/kafka"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/stream"
)

// ParentConfig configures the parent process.
type ParentConfig struct {
	// Engine holds the user's settings; the parent uses Listen, DataDir, PublicURL, OIDCBase,
	// DrainTimeout and Logger.
	Engine engine.Config
	// Workers is the number of worker processes. Zero means 1.
	Workers int
	// Command starts worker i: it returns the executable and its arguments, given the concrete
	// listen address, the public URL and the link socket. Required.
	Command func(i int, listen, publicURL, link string) (exe string, args []string)
}

// Parent owns the store, the development issuer, the event bus (and so event-id assignment) and
// the REST API; it feeds the workers over the link and keeps them running.
type Parent struct {
	Store    *store.Store
	Issuer   *devissuer.Issuer // nil in production mode
	Bus      *source.Bus       // the embedded bus, or nil with Kafka
	Kafka    *kafka.Source     // the Kafka events source, or nil
	Links    *LinkServer
	API      *api.API
	Verifier *auth.Verifier
	Addr     string // the shared listen address, port resolved
	URL      string // the public URL

	cfg       ParentConfig
	log       *slog.Logger
	kafkaSync *kafka.ConfigSync
	run       string
	registry  atomic.Pointer[stream.Registry]
	refreshMu sync.Mutex // a refresh from an older read must not replace a newer one
	apiLn     net.Listener
	linkLn    net.Listener
	http      *fasthttp.Server
	sup       *supervisor
}

// NewParent opens everything and listens on the sockets; Run starts the workers.
func NewParent(cfg ParentConfig) (p *Parent, err error) {
	ec := &cfg.Engine
	if ec.Listen == "" {
		ec.Listen = "127.0.0.1:8080"
	}
	if ec.DataDir == "" {
		ec.DataDir = "./data"
	}
	if ec.Logger == nil {
		ec.Logger = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Command == nil {
		return nil, errors.New("cluster: ParentConfig.Command is required")
	}
	// Bind once with SO_REUSEPORT: it proves the workers will be able to share the port and
	// resolves port 0, then let go (the workers hold the port).
	ln, err := netserver.Listen(ec.Listen, true)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if ec.PublicURL == "" {
		ec.PublicURL = "http://" + addr
	}
	p = &Parent{cfg: cfg, log: ec.Logger.With("role", "parent"), run: RunDir(ec.DataDir), Addr: addr, URL: ec.PublicURL}
	if err := os.MkdirAll(p.run, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: run dir: %w", err)
	}
	if n := len(WorkerSocket(p.run, cfg.Workers)); n > 100 {
		return nil, fmt.Errorf("cluster: socket paths under %s are too long for Unix sockets (%d bytes); use a shorter --data-dir", p.run, n)
	}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	// The store's file lock refuses a second parent on the same data dir before any socket is
	// touched.
	sopts := store.Options{Validate: stream.ValidateDocument, Seed: stream.CoreStreams}
	if ec.Kafka != nil { // tenants and documents shared through the config topic
		if err = ec.Kafka.Validate(); err != nil {
			return nil, fmt.Errorf("cluster: kafka: %w", err)
		}
		kc := *ec.Kafka
		kc.Logger = p.log
		if p.kafkaSync, err = kafka.NewConfigSync(kc); err != nil {
			return nil, fmt.Errorf("cluster: kafka config topic: %w", err)
		}
		sopts.Replicate = p.kafkaSync.Replicate
	}
	p.Store, err = store.Open(ec.DataDir, sopts)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	issuerBase := ec.OIDCBase
	if ec.DevMode() {
		issuerBase = ec.PublicURL + "/auth"
		if p.Issuer, err = devissuer.Open(ec.DataDir, issuerBase); err != nil {
			return nil, fmt.Errorf("cluster: development issuer: %w", err)
		}
	}
	p.apiLn, err = listenUnix(APISocket(p.run))
	if err != nil {
		return nil, err
	}
	p.linkLn, err = listenUnix(LinkSocket(p.run))
	if err != nil {
		return nil, err
	}
	acfg := auth.Config{IssuerBase: issuerBase}
	if ec.DevMode() { // fetch the development keys from our own API, not through a worker
		acfg.HTTPClient = unixHTTPClient(APISocket(p.run))
	}
	if p.Verifier, err = auth.NewVerifier(acfg, p.Store); err != nil {
		return nil, fmt.Errorf("cluster: verifier: %w", err)
	}
	p.Links = NewLinkServer(LinkConfig{Logger: p.log})
	var pub source.Publisher
	ready := func() error { return nil }
	if p.kafkaSync != nil {
		p.kafkaSync.Start(p.Store)
		kc := *ec.Kafka
		kc.Logger = p.log
		st := p.Store
		kc.ResolveTenant = func(ref string) (string, bool) {
			t, ok := st.ResolveTenant(ref)
			return t.ID, ok
		}
		if p.Kafka, err = kafka.New(kc, nil); err != nil {
			return nil, fmt.Errorf("cluster: kafka events topic: %w", err)
		}
		p.Kafka.Subscribe(p.Links.Publish)
		pub = p.Kafka
		ready = func() error { return errors.Join(p.Kafka.Ready(), p.kafkaSync.Ready()) }
	} else {
		p.Bus = source.NewBus(source.BusConfig{})
		p.Bus.Subscribe(p.Links.Publish)
		pub, ready = p.Bus, p.Bus.Ready
	}
	p.refresh()
	var issuer api.Issuer
	if p.Issuer != nil {
		issuer = p.Issuer
	}
	p.API = api.New(api.Deps{
		Store: p.Store, Registry: p.registry.Load, Publisher: pub, Issuer: issuer, PublicURL: ec.PublicURL,
		Verify: func(ctx context.Context, tok string) (*auth.Principal, error) { return p.Verifier.Verify(ctx, tok) },
		Ready:  ready, Gatherer: newClusterGatherer(metrics.Registry(), p.run, p.Links.Workers), Logger: p.log,
		// The parent's own list and the workers' snapshot are updated before a write is answered
		// (the workers apply it as soon as it arrives, in order with the events).
		Applied: p.refresh,
		Extra:   engine.ConsoleRoutes(ec, p.Issuer, p.Store, func(ctx context.Context, tok string) (*auth.Principal, error) { return p.Verifier.Verify(ctx, tok) }, newClusterGatherer(metrics.Registry(), p.run, p.Links.Workers)),
	})
	p.http = &fasthttp.Server{Handler: p.API.Handle, Name: "pushgate", MaxRequestBodySize: 1<<20 + 64<<10,
		ReadTimeout: 30 * time.Second, IdleTimeout: time.Minute, Logger: fasthttpLogger{p.log}}
	return p, nil
}

func listenUnix(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cluster: remove stale %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return ln, nil
}

// unixHTTPClient sends every request to the socket at path, whatever the URL's host.
func unixHTTPClient(path string) *http.Client {
	var d net.Dialer
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "unix", path) },
	}}
}

// refresh rebuilds the stream registry and the workers' snapshot from the store.
func (p *Parent) refresh() {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	core, tenants := p.Store.AllConfigs()
	reg, err := stream.Build(core, tenants)
	if err != nil {
		p.log.Error("stream registry: some documents were skipped", "err", err)
	}
	if reg != nil {
		p.registry.Store(reg)
	}
	if err := p.Links.SetSnapshot(&Snapshot{Tenants: p.Store.Tenants(), Core: core, Configs: tenants}); err != nil {
		p.log.Error("worker snapshot", "err", err)
	}
}

// Run serves the API and the link, starts the workers and keeps them running until ctx is done;
// then it sends SIGTERM to every worker, waits for their drain and closes everything. It returns
// an error when a worker did not exit cleanly.
func (p *Parent) Run(ctx context.Context) error {
	go func() {
		if err := p.http.Serve(p.apiLn); err != nil {
			p.log.Error("api socket", "err", err)
		}
	}()
	go func() {
		if err := p.Links.Serve(p.linkLn); err != nil {
			p.log.Error("link socket", "err", err)
		}
	}()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		for {
			select {
			case <-wctx.Done():
				return
			case <-p.Store.Changes():
				p.refresh()
			}
		}
	}()
	p.sup = newSupervisor(p.log, p.cfg.Workers, func(i int) (string, []string) {
		return p.cfg.Command(i, p.Addr, p.URL, LinkSocket(p.run))
	}, p.run)
	p.sup.start()
	p.log.Info("pushgate parent running", "workers", p.cfg.Workers, "addr", p.Addr, "url", p.URL, "run", p.run)
	<-ctx.Done()
	window := p.cfg.Engine.DrainTimeout
	if window <= 0 {
		window = 10 * time.Second
	}
	p.log.Info("stopping workers", "drain", window.String())
	err := p.sup.stop(window + 5*time.Second)
	p.close()
	return err
}

// Restarts counts worker restarts (a worker that exited while the parent was running).
func (p *Parent) Restarts() int64 {
	if p.sup == nil {
		return 0
	}
	return p.sup.restarts.Load()
}

// Signal sends sig to every running worker (a second SIGTERM makes them exit without draining).
func (p *Parent) Signal(sig os.Signal) {
	if p.sup != nil {
		p.sup.signal(sig)
	}
}

func (p *Parent) close() {
	for _, ln := range []net.Listener{p.apiLn, p.linkLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	if p.http != nil {
		_ = p.http.Shutdown()
	}
	if p.Links != nil {
		p.Links.Close()
	}
	if p.Bus != nil {
		p.Bus.Close()
	}
	if p.Kafka != nil {
		_ = p.Kafka.Close()
	}
	if p.kafkaSync != nil {
		_ = p.kafkaSync.Close()
	}
	if p.Verifier != nil {
		p.Verifier.Close()
	}
	if p.Store != nil {
		_ = p.Store.Close()
	}
	_ = os.Remove(APISocket(p.run))
	_ = os.Remove(LinkSocket(p.run))
}

// RunParent is NewParent followed by Run.
func RunParent(ctx context.Context, cfg ParentConfig) error {
	p, err := NewParent(cfg)
	if err != nil {
		return err
	}
	return p.Run(ctx)
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn("api server", "msg", fmt.Sprintf(format, args...))
}
