package cluster

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/edge"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/source/kafka"
)

// InstanceConfig configures one instance of several behind a load balancer without affinity
// (doc.go "Many instances"). Kafka mode only: the instances find each other on the config topic.
type InstanceConfig struct {
	// ID names the instance (ValidInstanceID). Zero means a random 8-character id per start.
	ID string
	// Listen is the internal listener other instances forward to. Required.
	Listen string
	// Advertise is the address the others dial. Zero means Listen's bound address, with an
	// unspecified host replaced by this machine's first non-loopback address.
	Advertise string
	// Secret authenticates instance-to-instance requests. Required (at least 16 bytes).
	Secret []byte
	// Kafka reaches the config topic.
	Kafka kafka.Config
	// Heartbeat is the announcement period. Zero means 5s; a peer is dead after 3 missed.
	Heartbeat time.Duration
	// ForwardTimeout bounds one forwarded polling exchange. Zero means ping interval + ping
	// timeout + 10s, from the engine configuration (Configure).
	ForwardTimeout time.Duration
	// Logger; zero means slog.Default().
	Logger *slog.Logger
}

// Instance is this process as one member of the cluster: its directory entry, the forwarder for
// other instances' sessions and the guarded internal listener for its own.
type Instance struct {
	ID        string
	Addr      string // advertised internal address
	cfg       InstanceConfig
	ln        net.Listener
	dir       *kafka.Directory
	Forwarder *Forwarder
	Gate      *Gate
	net       *netserver.Server
	errc      chan error
}

// NewInstanceID returns a random instance id (8 characters of [a-z2-7]).
func NewInstanceID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// NewInstance binds the internal listener and prepares the directory; nothing is announced or
// served before Attach.
func NewInstance(cfg InstanceConfig) (*Instance, error) {
	if cfg.ID == "" {
		cfg.ID = NewInstanceID()
	}
	if !ValidInstanceID(cfg.ID) {
		return nil, fmt.Errorf("cluster: instance id %q: want 1-32 of [a-z0-9-], not w<digits>", cfg.ID)
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("cluster: the cluster secret must be at least 16 bytes")
	}
	if cfg.Listen == "" {
		return nil, errors.New("cluster: an internal listen address is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ln, err := netserver.Listen(cfg.Listen, false)
	if err != nil {
		return nil, fmt.Errorf("cluster: internal listener: %w", err)
	}
	addr := cfg.Advertise
	if addr == "" {
		addr = advertised(ln.Addr().(*net.TCPAddr))
	}
	kc := cfg.Kafka
	kc.Logger = cfg.Logger
	dir, err := kafka.NewDirectory(kafka.DirectoryConfig{Kafka: kc, Self: kafka.Instance{ID: cfg.ID, Addr: addr}, Interval: cmp.Or(cfg.Heartbeat, 5*time.Second)})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &Instance{ID: cfg.ID, Addr: addr, cfg: cfg, ln: ln, dir: dir, errc: make(chan error, 1)}, nil
}

// advertised derives the address peers dial from the bound one.
func advertised(a *net.TCPAddr) string {
	port := fmt.Sprint(a.Port)
	if !a.IP.IsUnspecified() {
		return net.JoinHostPort(a.IP.String(), port)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, ia := range addrs {
			if n, ok := ia.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return net.JoinHostPort(n.IP.String(), port)
			}
		}
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return net.JoinHostPort(h, port)
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// Routing returns this instance's owner routing (its session-id prefix and the forwarder for
// other instances' sessions), for the assembly (engine.Options.Instance).
func (i *Instance) Routing(c *config.Config) edge.Routing {
	timeout := i.cfg.ForwardTimeout
	if timeout <= 0 {
		d := *c
		d.ApplyDefaults()
		timeout = d.ForwardTimeout()
	}
	i.Forwarder = NewPeerForwarder(PeerConfig{Self: i.ID, SelfAddr: i.Addr, Lookup: i.dir.Lookup, Secret: i.cfg.Secret, Timeout: timeout})
	return edge.Routing{SIDPrefix: InstanceSIDPrefix(i.ID), Forward: i.Forwarder.Forward}
}

// Attach serves the internal listener for the sessions of sio (behind the Gate), registers the
// cluster metrics on r and starts announcing this instance. ec is the server's effective
// configuration.
func (i *Instance) Attach(ec config.Config, sio conn.HTTPHandler, r prometheus.Registerer) error {
	i.Gate = NewGate(i.cfg.Secret, InstanceSIDPrefix(i.ID), sio)
	n, err := netserver.New(netserver.Config{
		Listen: i.cfg.Listen, MaxMessageBytes: int(ec.MaxPayload), MaxPendingBytes: ec.MaxPendingBytes,
		WriteTimeout: ec.WriteTimeout, SendBuffer: ec.SendBuffer, Logger: i.cfg.Logger,
	}, netserver.Routes{
		Mounts:   []netserver.Mount{{Prefix: "/socket.io/", Handler: i.Gate}},
		Fallback: func(ctx *fasthttp.RequestCtx) { ctx.Error("not found", fasthttp.StatusNotFound) },
	})
	if err != nil {
		return fmt.Errorf("cluster: internal server: %w", err)
	}
	n.UseListener(i.ln)
	i.net = n
	i.registerMetrics(r)
	go func() { i.errc <- n.Serve() }()
	i.dir.Start()
	i.cfg.Logger.Info("cluster instance", "id", i.ID, "internal", i.ln.Addr().String(), "advertised", i.Addr)
	return nil
}

// Peers returns the live instances this one knows (itself included once it has read its own
// heartbeat).
func (i *Instance) Peers() []kafka.Instance { return i.dir.Live() }

// Close withdraws the instance from the directory and stops the internal listener (after the
// engine drained: forwarded sessions are served until then).
func (i *Instance) Close() error {
	err := i.dir.Close()
	if i.net != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err = errors.Join(err, i.net.Shutdown(ctx, "shutdown"))
	} else {
		_ = i.ln.Close()
	}
	if i.Forwarder != nil {
		i.Forwarder.Close()
	}
	return err
}

func (i *Instance) registerMetrics(r prometheus.Registerer) {
	f, g := i.Forwarder, i.Gate
	c := func(name, help string, fn func() float64) { metrics.Counter(r, name, help, fn) }
	c("pushgate_cluster_forwarded_total", "Polling requests relayed to the instance owning their session.", func() float64 { return float64(f.Forwarded.Load()) })
	c("pushgate_cluster_proxied_total", "WebSocket upgrades spliced to the instance owning their session.", func() float64 { return float64(f.Proxied.Load()) })
	metrics.Gauge(r, "pushgate_cluster_proxied_connections", "WebSocket connections this instance relays to their owner now.", func() float64 { return float64(f.ProxiedOpen.Load()) })
	c("pushgate_cluster_forward_failures_total", "Relays and splices to another instance that failed (the client was told \"Session ID unknown\").", func() float64 { return float64(f.Failed.Load()) })
	c("pushgate_cluster_served_total", "Forwarded requests from other instances accepted by the internal listener.", func() float64 { return float64(g.Served.Load()) })
	c("pushgate_cluster_auth_rejected_total", "Requests to the internal listener refused for a missing or bad --cluster-secret signature.", func() float64 { return float64(g.Rejected.Load()) })
	metrics.Gauge(r, "pushgate_cluster_instances", "Live instances in the directory (this one included).", func() float64 { return float64(len(i.dir.Live())) })
}
