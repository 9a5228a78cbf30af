package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/control"
	"github.com/pushgate/pushgate/engine/edge"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/netserver"
)

// WorkerConfig configures one worker process.
type WorkerConfig struct {
	// Engine holds the operator's settings. Listen must be the concrete shared address and
	// PublicURL the parent's (the parent passes both).
	Engine config.Config
	// Index is this worker's index (its sid prefix is "w<Index>.").
	Index int
	// Link is the parent's link socket. Zero means <DataDir>/run/link.sock.
	Link string
	// SnapshotTimeout bounds the wait for the parent's first snapshot. Zero means 30s.
	SnapshotTimeout time.Duration
}

// Worker is the edge half (engine/edge) on a link to the parent: its Backend is the link
// Client, its non-push routes go to the parent through a Proxy, and sessions of other workers
// are routed to them by the Forwarder.
type Worker struct {
	Edge      *edge.Server
	Link      *Client
	Forwarder *Forwarder
	Verifier  *auth.Verifier
	Metrics   *prometheus.Registry
	cfg       WorkerConfig
	ln        net.Listener
	sock      string
	handoff   *handoffReceiver
	hsock     string
}

// NewWorker connects to the parent, waits for its snapshot, binds the shared port (SO_REUSEPORT)
// and this worker's socket, but serves nothing until Run.
func NewWorker(ctx context.Context, cfg WorkerConfig) (w *Worker, err error) {
	ec := cfg.Engine
	ec.ApplyDefaults()
	if err := ec.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: worker %d: invalid configuration: %w", cfg.Index, err)
	}
	ec.Logger = ec.Logger.With("worker", cfg.Index)
	ec.ReusePort = true
	run := RunDir(ec.DataDir)
	if cfg.Link == "" {
		cfg.Link = LinkSocket(run)
	}
	if cfg.SnapshotTimeout <= 0 {
		cfg.SnapshotTimeout = 30 * time.Second
	}
	w = &Worker{cfg: cfg, Metrics: metrics.Registry()}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	w.Link = Dial(ClientConfig{Path: cfg.Link, Index: cfg.Index, Logger: ec.Logger})
	wctx, cancel := context.WithTimeout(ctx, cfg.SnapshotTimeout)
	defer cancel()
	if err := w.Link.WaitReady(wctx); err != nil {
		return nil, err
	}
	proxy := NewProxy(APISocket(run), 0, w.ready)
	w.Forwarder = NewForwarder(run, cfg.Index, ec.ForwardTimeout())
	if w.Verifier, err = control.NewVerifier(ec, w.Link, nil); err != nil {
		return nil, err
	}
	pub, err := netserver.Listen(ec.Listen, true)
	if err != nil {
		return nil, fmt.Errorf("cluster: worker %d: %w", cfg.Index, err)
	}
	w.Edge, err = edge.New(ec, w.Link, edge.Seams{
		Listener: pub, Fallback: proxy.Handle, Verifier: w.Verifier, Metrics: w.Metrics,
		Routing: edge.Routing{SIDPrefix: SIDPrefix(cfg.Index), Forward: w.Forwarder.Forward},
	})
	if err != nil {
		_ = pub.Close()
		return nil, fmt.Errorf("cluster: worker %d: %w", cfg.Index, err)
	}
	metrics.Ready(w.Metrics, w.ready)
	proxy.ServeMetrics(w.Metrics)
	proxy.ServeConnections(w.Edge.Connections)
	proxy.ServeReceipts(w.Edge.Receipt)
	w.sock = WorkerSocket(run, cfg.Index)
	if err := os.Remove(w.sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cluster: remove stale %s: %w", w.sock, err)
	}
	if w.ln, err = net.Listen("unix", w.sock); err != nil {
		return nil, fmt.Errorf("cluster: worker socket: %w", err)
	}
	w.hsock = HandoffSocket(run, cfg.Index)
	if err := os.Remove(w.hsock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cluster: remove stale %s: %w", w.hsock, err)
	}
	hln, err := listenHandoff(w.hsock)
	if err != nil {
		return nil, err
	}
	w.handoff = &handoffReceiver{ln: hln, adopt: w.Edge.Net.Adopt, log: ec.Logger}
	return w, nil
}

// ready is this worker's part of /readyz (the parent's API answers the rest): its link to the
// parent is up and it is not draining (a worker told to stop leaves the balancer first).
func (w *Worker) ready() error {
	if w.Edge != nil {
		if err := w.Edge.Draining(); err != nil {
			return err
		}
	}
	return w.Link.Ready()
}

// close releases what NewWorker opened when it fails, and what Run leaves after the drain.
func (w *Worker) close() {
	if w.ln != nil {
		_ = w.ln.Close()
		_ = os.Remove(w.sock)
	}
	if w.handoff != nil {
		_ = w.handoff.ln.Close()
		_ = os.Remove(w.hsock)
	}
	if w.Forwarder != nil {
		w.Forwarder.Close()
	}
	if w.Verifier != nil {
		w.Verifier.Close()
	}
	if w.Link != nil {
		_ = w.Link.Close()
	}
}

// Run serves the shared port and the worker socket until ctx is done, then drains like a single
// server (engine.Server.Run). The worker socket keeps serving forwarded polling requests during
// the drain.
func (w *Worker) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- w.Edge.Net.ServeListener(w.ln) }()
	go w.handoff.serve()
	err := w.Edge.Run(ctx)
	w.close()
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
