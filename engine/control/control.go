package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/amqp/eventsource"
	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/amqp/webhookqueue"
	"github.com/pushgate/pushgate/engine/api"
	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/configsvc"
	"github.com/pushgate/pushgate/engine/devissuer"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/configsync"
	"github.com/pushgate/pushgate/engine/kafka/group"
	"github.com/pushgate/pushgate/engine/operator"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/source/kafka"
	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/engine/webhook"
)

// Options are what the assembling code supplies beyond the operator's settings.
type Options struct {
	// Gatherer is served on /metrics by the API. Nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Metrics, when set, receives the control half's own series (Kafka consumer).
	Metrics prometheus.Registerer
	// KeysClient fetches the token issuers' keys for the API's verifier. Nil means the
	// verifier's default client (the parent of --workers uses its own API socket).
	KeysClient *http.Client
	// Ready, when set, is part of /readyz (the edge reports draining there).
	Ready func() error
}

// Plane is the control half (see the package doc). Its exported fields are set by New and never
// change; Bus is nil with Kafka, Kafka nil without, Issuer nil in production mode.
type Plane struct {
	Store    *store.Store
	Issuer   *devissuer.Issuer
	Verifier *auth.Verifier
	Bus      *source.Bus
	Kafka    *kafka.Source
	API      *api.API
	Webhooks *webhook.Service

	cfg       config.Config
	log       *slog.Logger
	opts      Options
	kafkaSync *configsync.ConfigSync
	kafkaCfg  client.Config // as the events source uses it (tenant resolution, logger)
	reader    *configsvc.Reader
	tenants   *adsp.Tenants // ADSP tenant service (owns the tenants when set)
	events    *adsp.Events  // ADSP event service (receives webhook-triggered when set)
	// sourceFromEventService: the event source is the event service's own broker (AMQP), so
	// events posted to the event service come back through it (set by that source's opener).
	sourceFromEventService bool
	// tenantsBuilt: a rebuild ran after the tenant service's list was read (so every tenant's
	// document is compiled before /readyz says 200).
	tenantsBuilt atomic.Bool
	src          eventSource
	pub          source.Publisher

	webhookGroup *group.Group // Kafka mode: the consumer group feeding Webhooks
	groupDone    chan struct{}

	amqpCfg      rabbit.Config
	amqpSource   *eventsource.Source
	webhookQueue *webhookqueue.Consumer // AMQP mode: the shared queue feeding Webhooks

	orders OrderLog // operator orders (orders.go)
	edges  atomic.Pointer[Edges]

	// Typed changes: a documents revision (store.Store.Revision) is rebuilt once, by the watch
	// goroutine, into the registry (watchers: the hub, the workers' snapshots), then handed to
	// the webhook sender's goroutine; a webhook state change goes to the sender only.
	snap         atomic.Pointer[Snapshot]
	rebuilds     atomic.Int64
	live         revision      // documents revision the registry and the watchers have
	webhooksLive revision      // documents revision the webhook sender matches with
	docsChanged  chan struct{} // rebuild → webhook sender (buffered 1, coalescing)
	watchMu      sync.Mutex    // guards watchers
	watchers     []func()

	cancel       context.CancelFunc
	watching     bool
	done         chan struct{} // closed when watch returned
	webhooksDone chan struct{} // closed when feedWebhooks returned
}

// eventSource is where events come from: the embedded bus or the Kafka topic (with the
// configuration topic, which must be read before the instance is ready).
type eventSource interface {
	Subscribe(fn func(*source.Event))
	Ready() error
	Close()
}

// New opens the store, the event source, the development issuer (development mode) and the
// configuration-service reader (when configured), compiles the registry and builds the API.
// cfg must have had ApplyDefaults and carry the final PublicURL.
func New(cfg config.Config, opts Options) (p *Plane, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("control: data dir: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p = &Plane{cfg: cfg, log: cfg.Logger, opts: opts, cancel: cancel, done: make(chan struct{}), webhooksDone: make(chan struct{}), docsChanged: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err = p.openADSP(ctx); err != nil {
		return nil, err
	}
	switch {
	case cfg.Kafka != nil:
		err = p.openKafka(*cfg.Kafka)
	case cfg.AMQP != nil:
		err = p.openAMQP(*cfg.AMQP)
	default:
		err = p.openEmbedded()
	}
	if err != nil {
		return nil, err
	}
	if p.cfg.ConfigService != nil {
		cc := *p.cfg.ConfigService
		cc.Logger = p.log
		if p.reader, err = configsvc.New(cc); err != nil {
			return nil, fmt.Errorf("control: configuration service: %w", err)
		}
		p.reader.Start(ctx)
	}
	if cfg.DevMode() {
		if p.Issuer, err = devissuer.OpenShared(cfg.DataDir, cfg.IssuerBase(), cfg.DevSigningKey); err != nil {
			return nil, fmt.Errorf("control: development issuer: %w", err)
		}
	}
	if p.Verifier, err = NewVerifier(cfg, p.Store, opts.KeysClient); err != nil {
		return nil, err
	}
	p.orders.Logger = p.log
	p.OnOrder(func(o *operator.Order) { operator.Apply(o, &p.Verifier.Revocations, nil, time.Now()) })
	p.rebuild()
	if err := p.openWebhooks(ctx); err != nil {
		return nil, err
	}
	p.API = p.newAPI()
	if opts.Metrics != nil {
		p.registerKafkaMetrics(opts.Metrics)
		p.registerADSPMetrics(opts.Metrics)
		p.registerAMQPMetrics(opts.Metrics)
	}
	p.watching = true
	go p.watch(ctx)
	go p.feedWebhooks(ctx)
	return p, nil
}

// NewVerifier is the token verifier of cfg's mode: tokens from <IssuerBase>/realms/<realm>, the
// realm mapped to a tenant by tenants. Both halves build theirs with it.
func NewVerifier(cfg config.Config, tenants auth.TenantResolver, keys *http.Client) (*auth.Verifier, error) {
	v, err := auth.NewVerifier(auth.Config{IssuerBase: cfg.IssuerBase(), HTTPClient: keys, Logger: cfg.Logger}, tenants)
	if err != nil {
		return nil, fmt.Errorf("control: verifier: %w", err)
	}
	return v, nil
}

func (p *Plane) openEmbedded() error {
	st, err := store.Open(p.cfg.DataDir, p.storeOptions(nil))
	if err == nil {
		st.OnOrder(p.orders.Receive)
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	p.Store = st
	p.Bus = source.NewBus(source.BusConfig{})
	p.src, p.pub = busSource{p.Bus}, p.Bus
	return nil
}

func (p *Plane) newAPI() *api.API {
	var issuer api.Issuer
	if p.Issuer != nil {
		issuer = p.Issuer
	}
	return api.New(api.Deps{
		Store: p.Store, Verify: p.Verifier.Verify, Registry: p.Registry, Publisher: p.pub, Issuer: issuer,
		PublicURL: p.cfg.PublicURL, Ready: p.apiReady, Gatherer: p.opts.Gatherer, Logger: p.log,
		Applied: p.applied, Starting: client.StartupCheck(p.Kafka, p.kafkaSync),
		Extra:    ConsoleRoutes(&p.cfg, p.Issuer, p.Store, p.Verifier.Verify, p.opts.Gatherer), // web console
		Webhooks: p.Webhooks, Durable: p.durableWebhooks(),
		Operator: p,
	})
}

// watch is the one rebuilder: it rebuilds after a documents change of the store (tenants,
// documents, local or replicated) that the registry does not have yet, and after every
// configuration-service invalidation. Webhook state changes are not its input.
func (p *Plane) watch(ctx context.Context) {
	defer close(p.done)
	var remote, tenants <-chan struct{}
	if p.reader != nil {
		remote = p.reader.Changes()
	}
	if p.tenants != nil {
		tenants = p.tenants.Changes()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.Store.Changes():
			if p.Store.Revision() <= p.snap.Load().Revision {
				continue // a rebuild already read this revision (the notification coalesced)
			}
		case <-remote:
		case <-tenants:
		}
		loaded := p.tenants != nil && p.tenants.Ready() == nil
		p.rebuild()
		if loaded {
			p.tenantsBuilt.Store(true)
		}
	}
}

// ResolveTenant implements edge.Backend (any reference form).
func (p *Plane) ResolveTenant(ref string) (store.Tenant, bool) { return p.Store.ResolveTenant(ref) }

// TenantByRealm implements edge.Backend and auth.TenantResolver.
func (p *Plane) TenantByRealm(realm string) (string, bool) { return p.Store.TenantByRealm(realm) }

// Tenants returns every tenant in creation order.
func (p *Plane) Tenants() []store.Tenant { return p.Store.Tenants() }

// Subscribe implements edge.Backend: fn is the single consumer of events, in source order. With
// a configuration-service, its events about platform:push-service invalidate the cached
// documents on their way; after fn (the hub) has the event, the webhook sender is offered it.
func (p *Plane) Subscribe(fn func(*source.Event)) {
	p.src.Subscribe(func(ev *source.Event) {
		if p.reader != nil {
			p.observe(ev)
		}
		p.observeADSP(ev)
		fn(ev)
		p.observeWebhooks(ev)
	})
}

// Ready implements edge.Backend: events flow, the store is open and documents were read.
func (p *Plane) Ready() error {
	errs := []error{p.src.Ready(), p.Store.Ready()}
	if p.reader != nil {
		errs = append(errs, p.reader.Ready())
	}
	if p.tenants != nil {
		if err := p.tenants.Ready(); err != nil {
			errs = append(errs, err)
		} else if !p.tenantsBuilt.Load() {
			errs = append(errs, errors.New("tenant service: tenants' documents not compiled yet"))
		}
	}
	return errors.Join(errs...)
}

func (p *Plane) apiReady() error {
	if p.opts.Ready != nil {
		if err := p.opts.Ready(); err != nil {
			return err
		}
	}
	return p.Ready()
}

// Publisher is where ingested events go (the bus or the Kafka producer).
func (p *Plane) Publisher() source.Publisher { return p.pub }

// Close stops the watchers and closes the source, the verifier and the store.
func (p *Plane) Close() {
	p.cancel()
	if p.watching {
		<-p.done
		<-p.webhooksDone
	}
	p.closeWebhooks() // before the store: in-flight attempts stay pending there
	if p.events != nil {
		p.events.Close()
	}
	if p.src != nil {
		p.src.Close()
	}
	if p.Verifier != nil {
		p.Verifier.Close()
	}
	if p.Store != nil {
		_ = p.Store.Close()
	}
}

type busSource struct{ *source.Bus }

func (b busSource) Close() { b.Bus.Close() }
