package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Defaults.
const (
	DefaultTopic       = "domain-events"
	DefaultConfigTopic = "pushgate.config"
)

var (
	// ErrClosed reports use of a closed Source, ConfigSync, Group or Directory.
	ErrClosed = errors.New("kafka: closed")
	// ErrNotConnected is Ready's answer before the first successful metadata request.
	ErrNotConnected = errors.New("kafka: not connected yet")
)

// Config configures every Kafka package: the Source (engine/source/kafka), ConfigSync, the webhook
// Group and the Directory. Zero values mean the documented defaults (ApplyDefaults).
type Config struct {
	// Brokers is the bootstrap list, host:port each. Required.
	Brokers []string
	// Topic is the events topic. Zero means "domain-events".
	Topic string
	// ConfigTopic is the compacted topic of tenants and stream documents. Zero means "pushgate.config".
	ConfigTopic string
	// DisableTopicCreation stops ConfigSync from creating ConfigTopic when it is missing. Zero means
	// create it (compacted, 1 partition, replication factor min(3, brokers), min.insync.replicas
	// min(2, RF)). The events topic is never created.
	DisableTopicCreation bool
	// ClientID is sent to the brokers. Zero means "pushgate".
	ClientID string

	// TLS: CA bundle to verify the brokers (PEM), and a client certificate + key (PEM) for mutual
	// TLS. Any of them set enables TLS; CertFile and KeyFile go together. Zero means plaintext.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// SASL: Mechanism is "" (off), "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512" (case-insensitive);
	// User and Password are required with a mechanism.
	SASLMechanism, SASLUser, SASLPassword string

	// ResolveTenant maps the record's tenantId to a tenant URN. Nil accepts only the URN form
	// (urn:ads:platform:tenant-service:v2:/tenants/<24 hex>) and rejects every other record.
	ResolveTenant func(ref string) (urn string, ok bool)
	// Logger receives warnings (rate-limited per cause). Nil means slog.Default().
	Logger *slog.Logger

	// MaxWait bounds one fetch: the broker answers after at most this long when there is no data,
	// and a fetch unanswered after it is treated as a hung connection. Zero means 1s.
	MaxWait time.Duration
	// BackoffMax caps the retry backoff after errors (100 ms doubling). Zero means 1s.
	BackoffMax time.Duration
	// DiscoveryInterval is the period of the metadata check (new partitions, high-water marks,
	// readiness of an idle topic). Zero means 5s.
	DiscoveryInterval time.Duration
	// ReadyWindow: Ready fails when no record was fetched and no caught-up idle topic was confirmed
	// for this long. Zero means 10s.
	ReadyWindow time.Duration
	// QueueSize bounds the decoded events waiting for the dispatcher; a full queue pauses fetching.
	// Zero means 1024.
	QueueSize int
	// MaxRecordBytes bounds one fetch response per partition (and so one record). Zero means 2 MiB.
	MaxRecordBytes int
	// PublishTimeout bounds Publish and ConfigSync.Replicate. Zero means 5s.
	PublishTimeout time.Duration
	// MaxRangeReaders bounds concurrent ReadRange calls (the rest wait). Zero means 4.
	MaxRangeReaders int
	// RangeTimeout bounds one ReadRange call. Zero means 10s.
	RangeTimeout time.Duration
	// Clustered is set when this process is one of several instances (--cluster-listen) and so
	// announces itself on the config topic; unset, ConfigSync warns once when it reads another
	// instance's live announcement (its sessions cannot be forwarded to or from this one).
	Clustered bool
}

// ApplyDefaults sets every zero field to its default (the one place the Kafka defaults are set).
func (c *Config) ApplyDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.ConfigTopic == "" {
		c.ConfigTopic = DefaultConfigTopic
	}
	if c.ClientID == "" {
		c.ClientID = "pushgate"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def(&c.MaxWait, time.Second)
	def(&c.BackoffMax, time.Second)
	def(&c.DiscoveryInterval, 5*time.Second)
	def(&c.ReadyWindow, 10*time.Second)
	def(&c.PublishTimeout, 5*time.Second)
	def(&c.RangeTimeout, 10*time.Second)
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = 2 << 20
	}
	if c.MaxRangeReaders <= 0 {
		c.MaxRangeReaders = 4
	}
}

// Validate reports configuration errors, including unreadable TLS files.
func (c *Config) Validate() error {
	_, _, err := c.security()
	return err
}

func (c *Config) security() (*tls.Config, sasl.Mechanism, error) {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers"))
	}
	for _, b := range c.Brokers {
		if i := strings.LastIndexByte(b, ':'); i <= 0 || i == len(b)-1 {
			errs = append(errs, fmt.Errorf("kafka: broker %q is not host:port", b))
		}
	}
	tc, err := c.tlsConfig()
	if err != nil {
		errs = append(errs, err)
	}
	mech, err := c.saslMechanism()
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return tc, mech, nil
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCAFile == "" && c.TLSCertFile == "" && c.TLSKeyFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls ca: no PEM certificate in %s", c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, errors.New("kafka: tls cert and key must be given together")
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls cert/key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c *Config) saslMechanism() (sasl.Mechanism, error) {
	m := strings.ToUpper(strings.TrimSpace(c.SASLMechanism))
	if m == "" {
		if c.SASLUser != "" || c.SASLPassword != "" {
			return nil, errors.New("kafka: sasl user/password given without a mechanism")
		}
		return nil, nil
	}
	if c.SASLUser == "" || c.SASLPassword == "" {
		return nil, fmt.Errorf("kafka: sasl %s needs a user and a password", m)
	}
	switch m {
	case "PLAIN":
		return plain.Mechanism{Username: c.SASLUser, Password: c.SASLPassword}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if m == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		mech, err := scram.Mechanism(algo, c.SASLUser, c.SASLPassword)
		if err != nil {
			return nil, fmt.Errorf("kafka: sasl %s: %w", m, err)
		}
		return mech, nil
	default:
		return nil, fmt.Errorf("kafka: unknown sasl mechanism %q (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", c.SASLMechanism)
	}
}

// Conns holds the kafka-go connection factories built from a validated Config.
type Conns struct {
	Dialer    *kafkago.Dialer
	Transport *kafkago.Transport
	Client    *kafkago.Client
}

// NewConns builds the connection factories of a Config (TLS and SASL included).
func NewConns(c *Config) (*Conns, error) {
	tc, mech, err := c.security()
	if err != nil {
		return nil, err
	}
	dialTimeout := 5 * time.Second
	tr := &kafkago.Transport{
		ClientID:    c.ClientID,
		TLS:         tc,
		SASL:        mech,
		DialTimeout: dialTimeout,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: 2 * time.Second,
	}
	return &Conns{
		Dialer: &kafkago.Dialer{
			ClientID:      c.ClientID,
			Timeout:       dialTimeout,
			DualStack:     true,
			KeepAlive:     30 * time.Second,
			TLS:           tc,
			SASLMechanism: mech,
		},
		Transport: tr,
		Client:    &kafkago.Client{Addr: kafkago.TCP(c.Brokers...), Transport: tr, Timeout: dialTimeout + c.MaxWait},
	}, nil
}

// Close drops the idle connections.
func (cn *Conns) Close() { cn.Transport.CloseIdleConnections() }
