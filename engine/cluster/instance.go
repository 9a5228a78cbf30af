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

	"github.com/pushgate/pushgate/engine/amqp/instancedir"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/control"
	"github.com/pushgate/pushgate/engine/edge"
	"github.com/pushgate/pushgate/engine/kafka/client"
	kafkadir "github.com/pushgate/pushgate/engine/kafka/directory"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/netserver"
)

// InstanceConfig configures one instance of several behind a load balancer without affinity
// (doc.go "Many instances"). The instances find each other on the Kafka config topic, or on
// RabbitMQ (AMQP set).
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
	Kafka client.Config
	// AMQP, when set, keeps the directory on RabbitMQ instead (engine/amqp/instancedir): RabbitMQ
	// mode has no config topic.
	AMQP *rabbit.Config
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
	dir       directory
	Forwarder *Forwarder
	Gate      *Gate
	handover  *handoverServer
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
	var dir directory
	if cfg.AMQP != nil {
		rc := *cfg.AMQP
		rc.Logger = cfg.Logger
		var d *instancedir.Directory
		d, err = instancedir.New(instancedir.Config{Rabbit: rc, Self: instancedir.Instance{ID: cfg.ID, Addr: addr}, Interval: cmp.Or(cfg.Heartbeat, 5*time.Second)})
		dir = amqpDirectory{d}
	} else {
		kc := cfg.Kafka
		kc.Logger = cfg.Logger
		dir, err = kafkadir.New(kafkadir.Config{Kafka: kc, Self: kafkadir.Instance{ID: cfg.ID, Addr: addr}, Interval: cmp.Or(cfg.Heartbeat, 5*time.Second)})
	}
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &Instance{ID: cfg.ID, Addr: addr, cfg: cfg, ln: ln, dir: dir, errc: make(chan error, 1)}, nil
}

// directory maps instance ids to internal addresses: *kafkadir.Directory on the config topic, or
// amqpDirectory on RabbitMQ.
type directory interface {
	Start()
	Lookup(id string) (string, bool)
	Live() []kafkadir.Instance
	Joined() error // nil once this instance is findable by the others (readiness waits for it)
	Close() error
}

// amqpDirectory is the RabbitMQ directory, its entries in the Kafka directory's form.
type amqpDirectory struct{ *instancedir.Directory }

func (a amqpDirectory) Live() []kafkadir.Instance {
	var out []kafkadir.Instance
	for _, in := range a.Directory.Live() {
		out = append(out, kafkadir.Instance{ID: in.ID, Addr: in.Addr, Heartbeat: in.Heartbeat, Interval: in.Interval})
	}
	return out
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
	return edge.Routing{SIDPrefix: InstanceSIDPrefix(i.ID), Forward: i.Forwarder.Forward, Migrate: i.Forwarder.Migrate}
}

// Host is the process an Instance attaches to, as the assembly (engine.Assemble) fills it:
// cluster does not import the engine package (engine/doc.go), so what Attach needs is named here.
type Host struct {
	// Config is the server's effective configuration.
	Config config.Config
	// Edge holds the sessions (its SocketServer behind the Gate, moved away on upgrade) and
	// answers this instance's part of the operator questions (connections, receipts).
	Edge *edge.Server
	// Control is the control half: its operator routes ask every live instance (SetEdges), and
	// its webhook sender adds its figures to a receipt.
	Control *control.Plane
	// Metrics receives the cluster metrics.
	Metrics prometheus.Registerer
	// AddReadyCheck makes the server's readiness depend on a check (joined the directory).
	AddReadyCheck func(func() error)
}

// Attach serves the internal listener for the host's sessions (behind the Gate), registers the
// cluster metrics and starts announcing this instance.
func (i *Instance) Attach(h Host) error {
	ec, sio := h.Config, h.Edge.SIO
	i.Gate = NewGate(i.cfg.Secret, InstanceSIDPrefix(i.ID), sio)
	i.Gate.Held = sio.Has
	i.handover = &handoverServer{gate: i.Gate, export: sio.Export, fwd: i.Forwarder}
	n, err := netserver.New(netserver.Config{
		Listen: i.cfg.Listen, MaxMessageBytes: int(ec.MaxPayload), MaxPendingBytes: ec.MaxPendingBytes,
		WriteTimeout: ec.WriteTimeout, SendBuffer: ec.SendBuffer, Logger: i.cfg.Logger,
	}, netserver.Routes{
		Mounts: []netserver.Mount{{Prefix: "/socket.io/", Handler: i.Gate}, {Prefix: HandoverPath, Handler: i.handover},
			{Prefix: internalOpsPrefix, Handler: opsHandler{gate: i.Gate, edge: h.Edge, control: h.Control}}},
		Fallback: func(ctx *fasthttp.RequestCtx) { ctx.Error("not found", fasthttp.StatusNotFound) },
	})
	if err != nil {
		return fmt.Errorf("cluster: internal server: %w", err)
	}
	n.UseListener(i.ln)
	i.net = n
	i.registerMetrics(h.Metrics)
	h.AddReadyCheck(i.dir.Joined)                                             // the others find (and forward to) this instance only once it is in the directory
	h.Control.SetEdges(instanceEdges{i: i, edge: h.Edge, control: h.Control}) // the operator routes ask every live instance
	go func() { i.errc <- n.Serve() }()
	i.dir.Start()
	i.cfg.Logger.Info("cluster instance", "id", i.ID, "internal", i.ln.Addr().String(), "advertised", i.Addr)
	return nil
}

// Peers returns the live instances this one knows (itself included once it has read its own
// heartbeat).
func (i *Instance) Peers() []kafkadir.Instance { return i.dir.Live() }

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
	f, g, h := i.Forwarder, i.Gate, i.handover
	c := func(name, help string, fn func() float64) { metrics.Counter(r, name, help, fn) }
	c("pushgate_cluster_forwarded_total", "Polling requests relayed to the instance owning their session.", func() float64 { return float64(f.Forwarded.Load()) })
	// No WebSocket is relayed since sessions move on upgrade (migrate.go): the two proxied series
	// stay, always 0, for the dashboards and alerts that use them.
	c("pushgate_cluster_proxied_total", "WebSocket upgrades relayed to another instance: always 0, sessions move instead (pushgate_cluster_migrated_in_total).", func() float64 { return 0 })
	metrics.Gauge(r, "pushgate_cluster_proxied_connections", "WebSocket connections relayed to another instance now: always 0, sessions move instead.", func() float64 { return 0 })
	c("pushgate_cluster_forward_failures_total", "Polling relays to another instance that failed (the client was told \"Session ID unknown\").", func() float64 { return float64(f.Failed.Load()) })
	c("pushgate_cluster_served_total", "Forwarded requests from other instances accepted by the internal listener.", func() float64 { return float64(g.Served.Load()) })
	c("pushgate_cluster_auth_rejected_total", "Requests to the internal listener refused for a missing or bad --cluster-secret signature.", func() float64 { return float64(g.Rejected.Load()) })
	c("pushgate_cluster_migrated_in_total", "Sessions taken over from their owner instance because their WebSocket upgrade landed here.", func() float64 { return float64(f.MigratedIn.Load()) })
	c("pushgate_cluster_migrated_out_total", "Sessions handed over to the instance their WebSocket upgrade landed on.", func() float64 { return float64(h.MovedOut.Load()) })
	c("pushgate_cluster_migrate_failures_total", "Session takeovers that failed (the upgrade was refused; the client went on polling).", func() float64 { return float64(f.MigrateFailed.Load()) })
	metrics.Gauge(r, "pushgate_cluster_instances", "Live instances in the directory (this one included).", func() float64 { return float64(len(i.dir.Live())) })
}
