package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/pushgate/pushgate/engine"
)

// WorkerConfig configures one worker process.
type WorkerConfig struct {
	// Engine holds the user's settings. Listen must be the concrete shared address and PublicURL
	// the parent's (the parent passes both); Backend, Fallback, SIDPrefix, ForwardPolling and
	// ReusePort are set by RunWorker.
	Engine engine.Config
	// Index is this worker's index (its sid prefix is "w<Index>.").
	Index int
	// Link is the parent's link socket. Zero means <DataDir>/run/link.sock.
	Link string
	// SnapshotTimeout bounds the wait for the parent's first snapshot. Zero means 30s.
	SnapshotTimeout time.Duration
}

// Worker is a running worker: an engine.Server whose backend is the link to the parent.
type Worker struct {
	Server    *engine.Server
	Link      *Client
	Forwarder *Forwarder
	cfg       WorkerConfig
	ln        net.Listener
	sock      string
	handoff   *handoffReceiver
	hsock     string
}

// NewWorker connects to the parent, waits for its snapshot, binds the shared port (SO_REUSEPORT)
// and this worker's socket, but serves nothing until Run.
func NewWorker(ctx context.Context, cfg WorkerConfig) (*Worker, error) {
	ec := cfg.Engine
	if ec.DataDir == "" {
		ec.DataDir = "./data"
	}
	if ec.Logger != nil {
		ec.Logger = ec.Logger.With("worker", cfg.Index)
	}
	run := RunDir(ec.DataDir)
	if cfg.Link == "" {
		cfg.Link = LinkSocket(run)
	}
	if cfg.SnapshotTimeout <= 0 {
		cfg.SnapshotTimeout = 30 * time.Second
	}
	link := Dial(ClientConfig{Path: cfg.Link, Index: cfg.Index, Logger: ec.Logger})
	wctx, cancel := context.WithTimeout(ctx, cfg.SnapshotTimeout)
	defer cancel()
	if err := link.WaitReady(wctx); err != nil {
		_ = link.Close()
		return nil, err
	}
	ping, pingTimeout := ec.PingInterval, ec.PingTimeout
	if ping <= 0 {
		ping = 25 * time.Second
	}
	if pingTimeout <= 0 {
		pingTimeout = 20 * time.Second
	}
	proxy := NewProxy(APISocket(run), 0, link.Ready)
	fwd := NewForwarder(run, cfg.Index, ping+pingTimeout+10*time.Second)
	ec.Backend, ec.Fallback = link, proxy.Handle
	ec.SIDPrefix, ec.ForwardPolling, ec.ReusePort = SIDPrefix(cfg.Index), fwd.Forward, true
	srv, err := engine.New(ec)
	if err != nil {
		_ = link.Close()
		return nil, fmt.Errorf("cluster: worker %d: %w", cfg.Index, err)
	}
	proxy.ServeMetrics(srv.Metrics)
	sock := WorkerSocket(run, cfg.Index)
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cluster: remove stale %s: %w", sock, err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("cluster: worker socket: %w", err)
	}
	hsock := HandoffSocket(run, cfg.Index)
	if err := os.Remove(hsock); err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = ln.Close()
		return nil, fmt.Errorf("cluster: remove stale %s: %w", hsock, err)
	}
	hln, err := listenHandoff(hsock)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	log := ec.Logger
	if log == nil {
		log = slog.Default()
	}
	recv := &handoffReceiver{ln: hln, adopt: srv.Net.Adopt, log: log}
	return &Worker{Server: srv, Link: link, Forwarder: fwd, cfg: cfg, ln: ln, sock: sock, handoff: recv, hsock: hsock}, nil
}

// Run serves the shared port and the worker socket until ctx is done, then drains like a single
// server (engine.Server.Run). The worker socket keeps serving forwarded polling requests during
// the drain.
func (w *Worker) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- w.Server.Net.ServeListener(w.ln) }()
	go w.handoff.serve()
	err := w.Server.Run(ctx)
	_ = w.ln.Close()
	_ = os.Remove(w.sock)
	_ = w.handoff.ln.Close()
	_ = os.Remove(w.hsock)
	w.Forwarder.Close()
	select {
	case e := <-errc:
		err = errors.Join(err, e)
	default:
	}
	return err
}

// RunWorker is NewWorker followed by Run.
func RunWorker(ctx context.Context, cfg WorkerConfig) error {
	w, err := NewWorker(ctx, cfg)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}
