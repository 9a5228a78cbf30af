package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/control"
	"github.com/pushgate/pushgate/engine/operator"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/tenant"
)

// ErrLinkDown is Client.Ready's answer while the link to the parent is down or has not delivered
// a snapshot yet.
var ErrLinkDown = errors.New("cluster: link to the parent process is down")

// ClientConfig configures a worker's link client. Zero values mean the documented defaults.
type ClientConfig struct {
	// Path is the parent's link socket. Required.
	Path string
	// Index is this worker's index.
	Index int
	// Timeout is how long the link may stay silent (the parent pings every 5s) before the worker
	// reconnects. Zero means 20s.
	Timeout time.Duration
	// MaxBackoff caps the delay between reconnection attempts. Zero means 2s.
	MaxBackoff time.Duration
	// Logger. Zero means slog.Default().
	Logger *slog.Logger
}

// Client is a worker's link to the parent. It implements edge.Backend: tenants and stream
// documents come from the latest snapshot, events from EVENT frames (in order, once each, resumed
// across reconnections while the parent still holds the missed ones).
type Client struct {
	cfg ClientConfig
	log *slog.Logger

	mu      sync.RWMutex // guards the snapshot, its tenant index and its registry
	snap    *Snapshot
	tenants *tenant.Index
	reg     *stream.Registry

	watchMu  sync.Mutex // guards watchers
	watchers []func()

	deliverMu sync.Mutex // serialises delivery; guards fn and pending
	fn        func(*source.Event)
	pending   []*source.Event

	ready atomic.Bool
	first chan struct{}
	once  sync.Once

	connMu sync.Mutex
	conn   net.Conn
	quit   chan struct{}
	done   chan struct{}
	closed atomic.Bool

	// Gaps counts events lost because a resume was impossible (logged too).
	Gaps atomic.Int64

	orders control.OrderLog // operator orders from the parent
}

// Dial starts the link client (it keeps reconnecting until Close). Use WaitReady before serving.
func Dial(cfg ClientConfig) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Client{cfg: cfg, log: cfg.Logger, first: make(chan struct{}),
		quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// WaitReady waits for the first snapshot.
func (c *Client) WaitReady(ctx context.Context) error {
	select {
	case <-c.first:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: waiting for the parent's snapshot: %w", ctx.Err())
	}
}

func (c *Client) run() {
	defer close(c.done)
	var epoch string
	var last uint64
	backoff := 50 * time.Millisecond
	for {
		start := time.Now()
		err := c.session(&epoch, &last)
		c.ready.Store(false)
		if c.closed.Load() {
			return
		}
		c.log.Warn("link to the parent lost; reconnecting", "worker", c.cfg.Index, "err", err)
		if time.Since(start) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-c.quit:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// session runs one connection until it fails; epoch and last track the resume point.
func (c *Client) session(epoch *string, last *uint64) error {
	conn, err := net.DialTimeout("unix", c.cfg.Path, 2*time.Second)
	if err != nil {
		return fmt.Errorf("cluster: dial parent: %w", err)
	}
	c.connMu.Lock()
	if c.closed.Load() {
		c.connMu.Unlock()
		_ = conn.Close()
		return net.ErrClosed
	}
	c.conn = conn
	c.connMu.Unlock()
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(AppendHello(nil, Hello{Index: c.cfg.Index, Epoch: *epoch, LastSeq: *last})); err != nil {
		return fmt.Errorf("cluster: hello: %w", err)
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	var buf []byte
	for {
		_ = conn.SetReadDeadline(time.Now().Add(c.cfg.Timeout))
		var f Frame
		f, buf, err = readFrame(br, buf)
		if err != nil {
			return err
		}
		switch f.Type {
		case TypeSnapshot:
			s, err := ParseSnapshot(f.Payload)
			if err != nil {
				return err
			}
			if s.Epoch != *epoch { // a new parent: sequence numbers restart
				*epoch, *last = s.Epoch, 0
			}
			c.apply(s)
			if !c.ready.Swap(true) {
				_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := conn.Write(AppendReady(nil, c.cfg.Index)); err != nil {
					return fmt.Errorf("cluster: ready: %w", err)
				}
			}
			c.once.Do(func() { close(c.first) })
		case TypeEvent, TypeBacklog:
			seq, ev, err := ParseEvent(f.Payload)
			if err != nil {
				return err
			}
			ev.Backlog = f.Type == TypeBacklog
			if seq <= *last {
				continue // already delivered
			}
			if *last != 0 && seq != *last+1 {
				c.Gaps.Add(int64(seq - *last - 1))
				c.log.Warn("events lost while the link was down", "worker", c.cfg.Index, "count", seq-*last-1)
			}
			*last = seq
			c.deliver(ev)
		case TypeOrder:
			c.orders.Receive(f.Payload)
		case TypePing:
		default:
			return fmt.Errorf("%w: unknown frame type %q", ErrMalformed, f.Type)
		}
	}
}

// apply installs a snapshot: the tenant index and the registry compiled from its documents (the
// same index type and the same build as the parent's control half), then tells the watchers.
func (c *Client) apply(s *Snapshot) {
	idx := tenant.NewIndex(s.Tenants)
	reg := control.BuildRegistry(c.log, s.Core, s.Configs)
	c.mu.Lock()
	c.snap, c.tenants, c.reg = s, idx, reg
	c.mu.Unlock()
	c.watchMu.Lock()
	watchers := c.watchers
	c.watchMu.Unlock()
	for _, fn := range watchers {
		fn()
	}
}

func (c *Client) deliver(ev *source.Event) {
	c.deliverMu.Lock()
	defer c.deliverMu.Unlock()
	if c.fn == nil {
		if len(c.pending) < 65536 {
			c.pending = append(c.pending, ev)
		}
		return
	}
	c.fn(ev)
}

// OnOrder implements edge.Backend: the operator orders the parent passes on (the revocations in
// force first).
func (c *Client) OnOrder(fn func(*operator.Order)) { c.orders.OnOrder(fn) }

// Subscribe implements edge.Backend; events received before it are delivered first.
func (c *Client) Subscribe(fn func(*source.Event)) {
	c.deliverMu.Lock()
	defer c.deliverMu.Unlock()
	c.fn = fn
	for _, ev := range c.pending {
		fn(ev)
	}
	c.pending = nil
}

// ResolveTenant implements edge.Backend with the store's rules (URN, bare id, realm or name).
func (c *Client) ResolveTenant(ref string) (tenant.Tenant, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tenants.Resolve(ref)
}

// TenantByRealm implements edge.Backend.
func (c *Client) TenantByRealm(realm string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tenants.ByRealm(realm)
}

// Registry implements edge.Backend: the registry of the latest snapshot (nil before the first).
func (c *Client) Registry() *stream.Registry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.reg
}

// Snapshot returns the latest snapshot (shared: do not modify), nil before the first.
func (c *Client) Snapshot() *Snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.snap
}

// OnChange implements edge.Backend: fn runs after every snapshot, on the link's goroutine.
func (c *Client) OnChange(fn func()) {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	c.watchers = append(c.watchers, fn)
}

// Ready implements edge.Backend.
func (c *Client) Ready() error {
	if !c.ready.Load() {
		return ErrLinkDown
	}
	return nil
}

// Close implements edge.Backend: it stops reconnecting and closes the link.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	close(c.quit)
	c.connMu.Lock()
	if c.conn != nil {
		_ = c.conn.Close()
	}
	c.connMu.Unlock()
	<-c.done
	return nil
}
