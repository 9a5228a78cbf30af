package rabbit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Defaults of Config and Queue: every default of the RabbitMQ intake is set here.
const (
	DefaultExchange         = "domain-events"
	DefaultBackoffMin       = 100 * time.Millisecond
	DefaultBackoffMax       = 10 * time.Second
	DefaultHeartbeat        = 10 * time.Second
	DefaultErrorLogInterval = time.Minute
	DefaultPrefetch         = 500
	DefaultDialTimeout      = 10 * time.Second
)

// Config is how to reach the broker.
type Config struct {
	// URL is amqp://user:password@host:5672/vhost or amqps://… (TLS). Required.
	URL string
	// Exchange is the events exchange, asserted as a durable topic exchange. Zero means
	// "domain-events".
	Exchange string
	// TLS configures amqps://. Nil means the system roots (plus CAFile) and the URL's host name.
	TLS *tls.Config
	// CAFile is a PEM bundle of extra roots for amqps:// (--amqp-tls-ca), e.g. a private CA.
	CAFile string
	// BackoffMin and BackoffMax bound the wait between reconnection attempts (doubling). Zero
	// means 100ms and 10s.
	BackoffMin, BackoffMax time.Duration
	// Heartbeat is the AMQP heartbeat: a silent broker is detected after about twice this. Zero
	// means 10s (ADSP uses 160s, which leaves a dead connection undetected for minutes).
	Heartbeat time.Duration
	// ErrorLogInterval: a lasting failure is logged at ERROR once, then at most once per this
	// interval. Zero means 1 minute.
	ErrorLogInterval time.Duration
	// Name is the connection name shown in the management UI ("pushgate" when empty).
	Name string
	// Logger receives the logs. Zero means slog.Default().
	Logger *slog.Logger
}

// tlsConfig returns the TLS settings for amqps://: TLS as given, or the system roots plus CAFile.
func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLS != nil || c.CAFile == "" {
		return c.TLS, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("rabbit: --amqp-tls-ca: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("rabbit: --amqp-tls-ca %s: no PEM certificate", c.CAFile)
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

func (c *Config) applyDefaults() {
	if c.Exchange == "" {
		c.Exchange = DefaultExchange
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.ErrorLogInterval <= 0 {
		c.ErrorLogInterval = DefaultErrorLogInterval
	}
	if c.Name == "" {
		c.Name = "pushgate"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate checks the URL (scheme amqp or amqps, a host) without connecting.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("rabbit: --amqp-url is required")
	}
	if _, err := amqp.ParseURI(c.URL); err != nil {
		return fmt.Errorf("rabbit: --amqp-url %s: %w", Redact(c.URL), err)
	}
	_, err := c.tlsConfig()
	return err
}

// Redact returns the URL without its password (amqp://user@host:port/vhost), for logs and errors.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable amqp url)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

func (c *Config) dial() (*amqp.Connection, error) {
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	conn, err := amqp.DialConfig(c.URL, amqp.Config{
		Heartbeat:       c.Heartbeat,
		TLSClientConfig: tc,
		Locale:          "en_US",
		Properties:      amqp.Table{"connection_name": c.Name, "product": "pushgate"},
		Dial:            amqp.DefaultDial(DefaultDialTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("rabbit: connect to %s: %w", Redact(c.URL), err)
	}
	return conn, nil
}

func backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
