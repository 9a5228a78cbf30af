package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/configsvc"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/tracing"
	"github.com/pushgate/pushgate/engine/webhook"
)

// Config is what an operator sets: every flag of `pushgate serve` (contract.md "Flags"), filled
// by cmd/pushgate from flags and PUSHGATE_* variables. Zero values mean the documented defaults.
// It holds no wiring: how the halves of the server are joined (one process, --workers) is
// decided by the code that assembles them (engine, engine/cluster), not by settings.
type Config struct {
	// Listen is the one HTTP port. Zero means "127.0.0.1:8080".
	Listen string
	// ReusePort shares the port with other processes (SO_REUSEPORT).
	ReusePort bool
	// DataDir holds the store, the development key and the issuer file. Zero means "./data".
	DataDir string
	// DevSigningKey is the development signing key's file (PKCS#8 PEM), shared by every instance
	// of a fleet so a token minted against one is accepted by all; created (once, atomically)
	// when missing. Zero means <DataDir>/dev-signing-key.pem.
	DevSigningKey string
	// PublicURL is the base URL used in links and as the development issuer base
	// (<PublicURL>/auth). Zero means http://<Listen>.
	PublicURL string
	// OIDCBase switches to production mode: tokens only from <OIDCBase>/realms/<realm>.
	OIDCBase string
	// AllowedOrigins for CORS and WebSocket upgrades; "*" is allowed only in development mode.
	// Empty in development mode means any origin (with a warning); in production, same-origin only.
	AllowedOrigins []string
	// ReflectOrigins (--allowed-origins reflect) allows every origin without credentials, as
	// ADSP's push-service reflects any origin; allowed in production mode (conn.CORS.Reflect).
	ReflectOrigins bool
	// Console serves the web console (/console) in production mode too; in development mode it is
	// always on (ConsoleEnabled).
	Console bool

	// PingInterval, PingTimeout, MaxPayload: Engine.IO. Zero means 25s, 20s, 1000000.
	PingInterval time.Duration
	PingTimeout  time.Duration
	MaxPayload   int64
	// ConnectTimeout closes sessions that join no namespace. Zero means 45s.
	ConnectTimeout time.Duration

	// RecoveryWindow is how long a disconnected Socket.IO client may recover its session and the
	// events it missed (connection state recovery). Zero means 2m; negative turns recovery off
	// (and with it the offset argument appended to every stream event).
	RecoveryWindow time.Duration

	// HistorySize and HistoryAge bound the replay window. Zero means 10000 and 5m.
	HistorySize int
	HistoryAge  time.Duration

	// SendBuffer sets SO_SNDBUF on client sockets, so a client that stops reading reaches the
	// queue cap (and is closed) instead of parking megabytes in the kernel. Zero means 64 KiB;
	// negative leaves the kernel's auto-tuning.
	SendBuffer int
	// MaxPendingBytes and WriteTimeout are the slow-consumer policy. Zero means 1 MiB and 10s.
	MaxPendingBytes int
	WriteTimeout    time.Duration
	// HeaderTimeout, MaxConns: admission. Zero means 10s and no limit.
	HeaderTimeout time.Duration
	MaxConns      int

	// SSEHeartbeat is the comment heartbeat. Zero means 15s.
	SSEHeartbeat time.Duration

	// DrainTimeout is the graceful-shutdown window over which clients are told to reconnect
	// elsewhere. Zero means 10s; negative closes everyone at once.
	DrainTimeout time.Duration
	// MaxSSEPerToken caps the open SSE streams of one token subject (0 = no limit).
	MaxSSEPerToken int
	// MaxConnsPerIP, ConnectRate: per-address admission (0 = no limit).
	MaxConnsPerIP int
	ConnectRate   float64
	// MaxInboundRate caps the packets one client session may send per second, with bursts of one
	// second's worth (0 = no limit); above it the session is closed ("rate-limited").
	MaxInboundRate float64

	// Webhooks tunes the webhook sender (the --webhook-* flags). Zero values mean its defaults;
	// development mode also lets receivers on loopback through the SSRF guard.
	Webhooks webhook.Settings

	// Logger receives structured logs. Zero means slog.Default().
	Logger *slog.Logger

	// MetricsTopStreams caps the label values of the per-stream and per-tenant metrics: the top
	// streams and tenants by deliveries get series of their own, the rest are summed under
	// "other". Zero means 20.
	MetricsTopStreams int

	// Tracer records the OpenTelemetry spans (engine/tracing, from the OTEL_* variables); nil is
	// tracing off.
	Tracer *tracing.Tracer

	// Kafka, when set, reads events from a Kafka topic and shares tenants and stream documents
	// through a compacted topic (docs/KAFKA.md) instead of the embedded bus.
	Kafka *client.Config

	// AMQP, when set, reads events from RabbitMQ as the ADSP push-service does (--amqp-url,
	// --amqp-exchange; engine/amqp): a per-instance queue for the streams, a shared queue for the
	// webhooks. Tenants and documents stay in the local store (or the ADSP services).
	AMQP *rabbit.Config

	// WebhookGroup and WebhookGroupSession are Kafka mode's webhook consumer group (shared by every
	// instance) and its session timeout, after which a silent member's partitions are taken over.
	// Zero means "pushgate-webhooks" and 10s.
	WebhookGroup        string
	WebhookGroupSession time.Duration

	// ConfigService, when set, reads stream documents from an ADSP configuration-service instead
	// of the local store (tenants and events are unchanged).
	ConfigService *configsvc.Config
	// ADSP connects to the platform's own services (directory, tenant service, event service) and
	// holds the service account used for every ADSP call, the configuration service's included.
	// With a directory and no ConfigService, documents come from the directory's configuration
	// service. Zero = none.
	ADSP adsp.Settings
}

// Defaults of the settings more than one assembly reads (one process, the parent and the workers of
// --workers, a Kafka instance): set here only, by ApplyDefaults.
const (
	DefaultDrainTimeout = 10 * time.Second
	DefaultPingInterval = 25 * time.Second
	DefaultPingTimeout  = 20 * time.Second
)

// ApplyDefaults sets the defaults that more than one half of the server reads, once, in every
// assembly (as nats-server's setBaselineOptions); each component applies its own for the rest
// (zero values are documented per field). A negative DrainTimeout stays negative: close every
// client at once, in every mode.
func (c *Config) ApplyDefaults() {
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/") // empty: set from the bound address
	if c.SendBuffer == 0 {
		c.SendBuffer = 64 << 10
	}
	if c.RecoveryWindow == 0 {
		c.RecoveryWindow = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MetricsTopStreams <= 0 {
		c.MetricsTopStreams = 20
	}
}

// DrainWindow is the window of the graceful drain: DrainTimeout after ApplyDefaults, and 0 (close
// every client at once) when it is negative.
func (c *Config) DrainWindow() time.Duration { return max(c.DrainTimeout, 0) }

// ForwardTimeout bounds one polling exchange relayed to the process or instance owning its
// session: a held GET lasts up to one ping cycle (PingInterval + PingTimeout), plus a margin.
// Call after ApplyDefaults.
func (c *Config) ForwardTimeout() time.Duration {
	return c.PingInterval + c.PingTimeout + 10*time.Second
}

// DevMode reports whether the development issuer is on (no OIDC base configured).
func (c *Config) DevMode() bool { return c.OIDCBase == "" }

// Validate reports malformed settings.
func (c *Config) Validate() error {
	var errs []error
	if _, err := url.Parse(c.PublicURL); err != nil {
		errs = append(errs, fmt.Errorf("public-url: %w", err))
	}
	if c.OIDCBase != "" {
		if u, err := url.Parse(c.OIDCBase); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("oidc-base: want an absolute URL, got %q", c.OIDCBase))
		}
		for _, o := range c.AllowedOrigins {
			if o == "*" {
				errs = append(errs, errors.New("allowed-origins: \"*\" is only allowed in development mode"))
			}
		}
	}
	if c.ADSP.ClientSecret != "" && c.OIDCBase == "" {
		errs = append(errs, errors.New("configuration-service-client-secret: needs --oidc-base (the service-account token comes from <oidc-base>/realms/core)"))
	}
	if c.AMQP != nil && c.Kafka != nil {
		errs = append(errs, errors.New("amqp-url and kafka-brokers: choose one event source"))
	}
	if c.AMQP != nil {
		if err := c.AMQP.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.PingInterval < 0 || c.PingTimeout < 0 || c.MaxPayload < 0 {
		errs = append(errs, errors.New("ping-interval, ping-timeout and max-payload must not be negative"))
	}
	return errors.Join(errs...)
}

// IssuerBase is where tokens come from: the OIDC base in production mode, the development
// issuer (<PublicURL>/auth) in development mode. PublicURL must be set.
func (c *Config) IssuerBase() string {
	if c.DevMode() {
		return c.PublicURL + "/auth"
	}
	return c.OIDCBase
}

// CORS is the cross-origin policy of HTTP answers: any origin in development mode unless origins
// are listed (and "*" is not among them), else exactly AllowedOrigins.
func (c *Config) CORS() conn.CORS {
	o := c.AllowedOrigins
	if c.DevMode() && (len(o) == 0 || slices.Contains(o, "*")) {
		return conn.CORS{AllowAll: true}
	}
	return conn.CORS{Origins: o, Reflect: c.ReflectOrigins}
}

// OriginAllowed guards WebSocket upgrades against cross-site hijacking: the CORS policy, or the
// server's own origin (PublicURL).
func (c *Config) OriginAllowed(origin string) bool {
	p := c.CORS()
	return p.AllowAll || p.Allowed(origin) || origin == c.PublicURL
}

// ConsoleEnabled reports whether the web console is served: always in development mode, with
// Config.Console in production.
func (c *Config) ConsoleEnabled() bool { return c.DevMode() || c.Console }
