package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/configsvc"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/tracing"
)

func runServe(args []string) error {
	fs := newFlagSet("serve")
	var c engine.Config
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address of the one HTTP port")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "store, development key and issuer file")
	fs.StringVar(&c.DevSigningKey, "dev-signing-key", "", "development mode: the signing key file every instance of a fleet shares, so a token minted against one works on all (created when missing; default <data-dir>/dev-signing-key.pem)")
	fs.StringVar(&c.PublicURL, "public-url", "", "base URL used in links and as the development issuer base (default http://<listen>)")
	fs.StringVar(&c.OIDCBase, "oidc-base", "", "production issuer base, e.g. https://access.example/auth (empty = development mode)")
	origins := fs.String("allowed-origins", "", "comma list of allowed origins; * only in development mode; \"reflect\" allows any origin without credentials (bearer-token clients, as ADSP; README)")
	fs.BoolVar(&c.Console, "console", false, "serve the web console at /console in production mode too (always on in development mode; it never mints tokens in production)")
	fs.BoolVar(&c.ReusePort, "reuse-port", false, "set SO_REUSEPORT so several processes can share --listen")
	fs.DurationVar(&c.PingInterval, "ping-interval", 25*time.Second, "Engine.IO ping interval")
	fs.DurationVar(&c.PingTimeout, "ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	fs.Int64Var(&c.MaxPayload, "max-payload", 1_000_000, "Engine.IO maxPayload (largest inbound message, bytes)")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", 45*time.Second, "close Engine.IO sessions that join no namespace within this time")
	fs.DurationVar(&c.RecoveryWindow, "recovery-window", 2*time.Minute, "Socket.IO connection state recovery window (negative = off)")
	fs.IntVar(&c.HistorySize, "history-size", 10000, "events kept for replay (SSE Last-Event-ID, Socket.IO recovery)")
	fs.DurationVar(&c.HistoryAge, "history-age", 5*time.Minute, "longest an event is kept for replay")
	pending := fs.String("max-pending-bytes", "1MiB", "bytes queued per connection before it is closed as a slow consumer")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 10*time.Second, "close a connection whose socket stays unwritable this long")
	sndbuf := fs.String("socket-send-buffer", "64KiB", "SO_SNDBUF per client socket (-1 = the kernel's auto-tuning)")
	fs.DurationVar(&c.HeaderTimeout, "header-timeout", 10*time.Second, "close connections that do not complete a request head in time")
	fs.IntVar(&c.MaxConns, "max-conns", 0, "maximum open connections (0 = no limit)")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", 0, "maximum open connections per client IP (0 = no limit)")
	fs.Float64Var(&c.ConnectRate, "connect-rate", 0, "new connections per second per client IP (0 = no limit); above it 429")
	fs.DurationVar(&c.SSEHeartbeat, "sse-heartbeat", 15*time.Second, "SSE comment heartbeat interval")
	fs.IntVar(&c.MetricsTopStreams, "metrics-top-streams", 20, "streams and tenants with series of their own in the per-stream and per-tenant metrics (the rest are summed under \"other\")")
	fs.Float64Var(&c.MaxInboundRate, "max-inbound-rate", 100, "packets per second one client session may send, bursts of one second's worth (0 = no limit); above it the connection is closed")
	fs.IntVar(&c.MaxSSEPerToken, "max-sse-per-token", 100, "open SSE streams per token subject (0 = no limit); above it 429")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 10*time.Second, "graceful shutdown window: clients are told to reconnect elsewhere, spread over it")
	pprofAddr := fs.String("pprof", "", "address for the pprof HTTP endpoint (off when empty), e.g. 127.0.0.1:6060")
	var kc client.Config
	fs.StringVar(&kc.Topic, "kafka-topic", "domain-events", "events topic")
	fs.StringVar(&kc.ConfigTopic, "kafka-config-topic", "pushgate.config", "compacted topic of tenants and stream documents")
	createTopics := fs.Bool("kafka-create-topics", true, "create the compacted --kafka-config-topic when it is missing (the events topic is never created; docs/DEPLOY.md)")
	fs.StringVar(&c.WebhookGroup, "kafka-webhook-group", "pushgate-webhooks", "consumer group every instance shares to send each event's webhooks once")
	fs.DurationVar(&c.WebhookGroupSession, "kafka-webhook-session-timeout", 10*time.Second, "a silent member of the webhook group is replaced after this long (6s-30m on stock brokers)")
	brokers := fs.String("kafka-brokers", "", "comma list of Kafka bootstrap brokers; set = Kafka source (docs/KAFKA.md)")
	fs.StringVar(&kc.TLSCAFile, "kafka-tls-ca", "", "PEM CA bundle for TLS to the brokers")
	fs.StringVar(&kc.TLSCertFile, "kafka-tls-cert", "", "PEM client certificate (mutual TLS)")
	fs.StringVar(&kc.TLSKeyFile, "kafka-tls-key", "", "PEM client key (mutual TLS)")
	fs.StringVar(&kc.SASLMechanism, "kafka-sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&kc.SASLUser, "kafka-sasl-user", "", "SASL user")
	fs.StringVar(&kc.SASLPassword, "kafka-sasl-password", "", "SASL password (prefer PUSHGATE_KAFKA_SASL_PASSWORD)")
	csURL := fs.String("configuration-service-url", "", "read stream documents from this ADSP configuration-service instead of the local store")
	fs.StringVar(&c.ADSP.ClientID, "configuration-service-client-id", "urn:ads:platform:push-service", "service-account client id for every ADSP service call (client credentials, realm core of --oidc-base)")
	fs.StringVar(&c.ADSP.ClientSecret, "configuration-service-client-secret", "", "service-account client secret for every ADSP service call (prefer PUSHGATE_CONFIGURATION_SERVICE_CLIENT_SECRET)")
	fs.StringVar(&c.ADSP.DirectoryURL, "directory-url", "", "ADSP directory service: finds the tenant, event and configuration services (README \"Replacing the ADSP push-service\")")
	fs.StringVar(&c.ADSP.TenantServiceURL, "tenant-service-url", "", "ADSP tenant service API URL (e.g. http://tenant-service/api/tenant/v2): tenants and realms come from it")
	fs.StringVar(&c.ADSP.EventServiceURL, "event-service-url", "", "ADSP event service API URL (e.g. http://event-service/event/v1): push-service:webhook-triggered is posted to it")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	format := fs.String("log-format", "text", "text or json")
	workers := fs.Int("workers", 1, "server processes sharing --listen (SO_REUSEPORT); >1 runs a parent and N workers")
	workerIndex := fs.Int("worker-index", -1, "internal: run as worker N of a --workers parent")
	workerLink := fs.String("worker-link", "", "internal: the parent's link socket (with --worker-index)")
	cf := addClusterFlags(fs)
	wf := addWebhookFlags(fs, &c.Webhooks)
	af := addAMQPFlags(fs)
	unset, err := parseWithEnvUnset(fs, args)
	if err != nil {
		return err
	}
	fallbacks, acknowledged, err := applyADSPFallbacks(fs, unset, os.LookupEnv)
	if err != nil {
		return err
	}
	if err := wf.apply(&c.Webhooks); err != nil {
		return err
	}
	n, err := parseBytes(*pending)
	if err != nil {
		return fmt.Errorf("--max-pending-bytes: %w", err)
	}
	c.MaxPendingBytes = n
	if *sndbuf == "-1" {
		c.SendBuffer = -1
	} else if c.SendBuffer, err = parseBytes(*sndbuf); err != nil {
		return fmt.Errorf("--socket-send-buffer: %w", err)
	}
	if *origins != "" {
		for _, o := range strings.Split(*origins, ",") {
			switch o = strings.TrimSpace(o); o {
			case "":
			case "reflect": // any origin without credentials; listed origins keep them
				c.ReflectOrigins = true
			default:
				c.AllowedOrigins = append(c.AllowedOrigins, o)
			}
		}
	}
	if *brokers != "" {
		for _, b := range strings.Split(*brokers, ",") {
			if b = strings.TrimSpace(b); b != "" {
				kc.Brokers = append(kc.Brokers, b)
			}
		}
		kc.DisableTopicCreation = !*createTopics
		c.Kafka = &kc
	}
	if err := af.apply(&c); err != nil {
		return err
	}
	if *csURL != "" {
		c.ConfigService = &configsvc.Config{URL: *csURL} // the service-account token is added by the control half
	}
	if c.ADSP.ClientSecret != "" && c.OIDCBase == "" {
		return fmt.Errorf("--configuration-service-client-secret needs --oidc-base (the token comes from <oidc-base>/realms/core)")
	}
	logger, err := newLogger(*level, *format)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	c.Logger = logger
	if len(fallbacks) > 0 || len(acknowledged) > 0 {
		logger.Info("ADSP environment variables read as fallbacks (values not logged)", "used", fallbacks, "acknowledged_only", acknowledged)
	}
	tracer, err := tracing.FromEnv(context.Background())
	if err != nil {
		return err
	}
	if tracer != nil {
		c.Tracer = tracer
		logger.Info("tracing on: OTLP/HTTP export configured by the OTEL_* variables")
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tracer.Shutdown(sctx); err != nil {
				logger.Warn("tracing: spans not flushed at exit", "err", err)
			}
		}()
	}
	if *cf.listen != "" && (*workers > 1 || *workerIndex >= 0) {
		return errors.New("--cluster-listen cannot be combined with --workers yet: run one instance per process")
	}
	if *workerIndex >= 0 {
		return runWorker(c, *workerIndex, *workerLink, *pprofAddr)
	}
	if *workers > 1 || c.ReusePort {
		warnWithoutMigrateReq(logger)
	}
	if *workers > 1 {
		return runParent(c, *workers, args)
	}
	inst, err := cf.instance(&c)
	if err != nil {
		return err
	}
	srv, err := engine.Assemble(c, engine.Options{Instance: inst})
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		startPprof(*pprofAddr, logger)
	}
	ctx, stop := shutdownContext(exitWithoutDraining(logger))
	defer stop()
	return srv.Run(ctx)
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
}

// parseBytes reads "1048576", "512KiB", "1MiB", "2MB".
func parseBytes(s string) (int, error) {
	units := []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}, {"B", 1}}
	mult := 1
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d", &n); err != nil || n < 0 {
		return 0, fmt.Errorf("want a byte size like 1MiB, got %q", s)
	}
	return n * mult, nil
}
