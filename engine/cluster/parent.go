package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/control"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/source/kafka"
	"github.com/pushgate/pushgate/engine/store"
)

// ParentConfig configures the parent process.
type ParentConfig struct {
	// Engine holds the operator's settings; the parent's control half reads them all.
	Engine config.Config
	// Workers is the number of worker processes. Zero means 1.
	Workers int
	// Command starts worker i: it returns the executable and its arguments, given the concrete
	// listen address, the public URL and the link socket. Required.
	Command func(i int, listen, publicURL, link string) (exe string, args []string)
}

// Parent is the control half (engine/control) plus the link server that feeds the workers: the
// Plane's registry changes become snapshots and its events become EVENT frames, in order. The
// fields below Control are shortcuts into it.
type Parent struct {
	Control  *control.Plane
	Store    *store.Store
	Issuer   *devissuer.Issuer // nil in production mode
	Bus      *source.Bus       // the embedded bus, or nil with Kafka
	Kafka    *kafka.Source     // the Kafka events source, or nil
	API      *api.API
	Verifier *auth.Verifier
	Links    *LinkServer
	Addr     string // the shared listen address, port resolved
	URL      string // the public URL

	cfg    ParentConfig
	log    *slog.Logger
	run    string
	apiLn  net.Listener
	linkLn net.Listener
	http   *fasthttp.Server
	sup    *supervisor
}

// NewParent opens the control half and listens on the sockets; Run starts the workers.
func NewParent(cfg ParentConfig) (p *Parent, err error) {
	ec := &cfg.Engine
	ec.ApplyDefaults()
	if err := ec.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: invalid configuration: %w", err)
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
	ec.Logger = ec.Logger.With("role", "parent")
	p = &Parent{cfg: cfg, log: ec.Logger, run: RunDir(ec.DataDir), Addr: addr, URL: ec.PublicURL}
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
	p.Links = NewLinkServer(LinkConfig{Logger: p.log})
	own := metrics.Registry()
	opts := control.Options{Gatherer: newClusterGatherer(own, p.run, p.Links.Workers), Metrics: own}
	if ec.DevMode() { // fetch the development keys from our own API, not through a worker
		opts.KeysClient = unixHTTPClient(APISocket(p.run))
	}
	// The store's file lock refuses a second parent on the same data dir before any socket is
	// touched.
	if p.Control, err = control.New(*ec, opts); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c := p.Control
	metrics.Ready(own, c.Ready)
	p.Store, p.Issuer, p.Bus, p.Kafka, p.API, p.Verifier = c.Store, c.Issuer, c.Bus, c.Kafka, c.API, c.Verifier
	// Every rebuild (a store change, a configuration-service invalidation, an API write) is
	// queued to the workers before the write is answered, in order with the events.
	c.OnChange(p.snapshot)
	p.snapshot()
	c.Subscribe(p.Links.Publish)
	c.OnOrder(p.Links.Order)
	c.SetEdges(workerEdges{p})
	if p.apiLn, err = listenUnix(APISocket(p.run)); err != nil {
		return nil, err
	}
	if p.linkLn, err = listenUnix(LinkSocket(p.run)); err != nil {
		return nil, err
	}
	p.http = &fasthttp.Server{Handler: c.API.Handle, Name: "pushgate", MaxRequestBodySize: 1<<20 + 64<<10,
		ReadTimeout: 30 * time.Second, IdleTimeout: time.Minute, Logger: fasthttpLogger{p.log}}
	return p, nil
}

// snapshot queues the control half's current tenants and documents to every worker.
func (p *Parent) snapshot() {
	d := p.Control.Documents()
	if err := p.Links.SetSnapshot(&Snapshot{Tenants: p.Control.Tenants(), Core: d.Core, Configs: d.Tenants}); err != nil {
		p.log.Error("worker snapshot", "err", err)
	}
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
	p.sup = newSupervisor(p.log, p.cfg.Workers, func(i int) (string, []string) {
		return p.cfg.Command(i, p.Addr, p.URL, LinkSocket(p.run))
	}, p.run)
	p.sup.start()
	p.log.Info("pushgate parent running", "workers", p.cfg.Workers, "addr", p.Addr, "url", p.URL, "run", p.run)
	<-ctx.Done()
	window := p.cfg.Engine.DrainWindow() // the workers' window (ApplyDefaults in NewParent)
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
	if p.Control != nil {
		p.Control.Close()
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
