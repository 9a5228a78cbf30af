package control

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/configsvc"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/source"
)

// configLatest is the push-service document under the configuration-service API URL
// (libs/adsp-service-sdk/src/configuration/configurationService.ts).
const configLatest = "v2/configuration/platform/push-service/latest"

// openADSP builds the ADSP platform clients of cfg.ADSP before the store is opened (the tenant
// service then owns the tenants): the directory, the service account, the tenant service, the
// event service, and the configuration service found through the directory when no
// --configuration-service-url is given. The service account also signs the configuration
// service's requests.
func (p *Plane) openADSP(ctx context.Context) error {
	a := p.cfg.ADSP
	var token func(context.Context) (string, error)
	if a.ClientSecret != "" {
		sa, err := adsp.NewServiceAccount(adsp.ServiceAccountConfig{
			TokenURL: adsp.TokenURL(p.cfg.OIDCBase), ClientID: a.ClientID, ClientSecret: a.ClientSecret,
		})
		if err != nil {
			return fmt.Errorf("control: %w", err)
		}
		token = sa.Token
	}
	if p.cfg.ConfigService != nil && p.cfg.ConfigService.Token == nil {
		cs := *p.cfg.ConfigService // the caller's Config is not ours to change
		cs.Token = token
		p.cfg.ConfigService = &cs
	}
	if !a.Enabled() {
		return nil
	}
	dir, err := adsp.NewDirectory(adsp.DirectoryConfig{URL: a.DirectoryURL, Pinned: a.Pinned()})
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if dir.Has(adsp.TenantServiceAPI) {
		if p.tenants, err = adsp.NewTenants(adsp.TenantsConfig{Directory: dir, Token: token, Logger: p.log}); err != nil {
			return fmt.Errorf("control: %w", err)
		}
		p.tenants.Start(ctx)
	}
	if dir.Has(adsp.EventServiceAPI) {
		if p.events, err = adsp.NewEvents(adsp.EventsConfig{Directory: dir, Token: token, Logger: p.log}); err != nil {
			return fmt.Errorf("control: %w", err)
		}
	}
	if p.cfg.ConfigService == nil && a.DirectoryURL != "" {
		p.cfg.ConfigService = &configsvc.Config{Token: token, Locate: func(ctx context.Context) (string, error) {
			return dir.Resolve(ctx, adsp.ConfigurationServiceAPI, configLatest)
		}}
	}
	return nil
}

// registerADSPMetrics exposes the tenant service client's and the event-service sender's counters.
func (p *Plane) registerADSPMetrics(r prometheus.Registerer) {
	if p.tenants != nil {
		ts := p.tenants
		metrics.Gauge(r, "pushgate_adsp_tenants", "Tenants in the list read from the ADSP tenant service.", func() float64 { return float64(ts.Stats().Tenants) })
		metrics.Counter(r, "pushgate_adsp_tenant_lookups_total", "Single tenant-service look-ups made for an unknown tenant, realm or name.", func() float64 { return float64(ts.Stats().Asked) })
		metrics.Counter(r, "pushgate_adsp_tenant_lookups_limited_total", "Unknown tenant references answered without a look-up (rate limit).", func() float64 { return float64(ts.Stats().Limited) })
		metrics.Counter(r, "pushgate_adsp_tenant_list_errors_total", "Failed reads of the tenant list.", func() float64 { return float64(ts.Stats().ListErrors) })
	}
	if p.events != nil {
		ev := p.events
		for _, o := range []struct {
			outcome string
			get     func() uint64
		}{
			{"sent", func() uint64 { s, _, _ := ev.Stats(); return s }},
			{"failed", func() uint64 { _, f, _ := ev.Stats(); return f }},
			{"dropped", func() uint64 { _, _, d := ev.Stats(); return d }},
		} {
			r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushgate_adsp_events_total",
				Help:        "Events for the ADSP event service (webhook-triggered) by outcome: sent, failed (given up after the retries), dropped (queue full).",
				ConstLabels: prometheus.Labels{"outcome": o.outcome}}, func() float64 { return float64(o.get()) }))
		}
	}
}

// observeADSP passes tenant-service events to the tenant list, which is read again at once.
func (p *Plane) observeADSP(ev *source.Event) {
	if p.tenants != nil && ev.Namespace == "tenant-service" {
		p.tenants.Observe(ev.Namespace, ev.Name)
	}
}

// webhookPublisher is where push-service:webhook-triggered (and -disabled) go: with an ADSP
// event service, there (its event log feeds the tenant admin app's webhook history) and to the
// event source, so pushgate's own streams see them as before; without one, the event source only.
// A source fed by the event service itself (its RabbitMQ exchange) brings them back on its own:
// such a source sets sourceFromEventService and the event service alone receives them.
func (p *Plane) webhookPublisher() source.Publisher {
	switch {
	case p.events == nil:
		return p.pub
	case p.sourceFromEventService:
		return p.events
	}
	return teePublisher{local: p.pub, remote: p.events}
}

// teePublisher publishes to the event source and queues to the event service; the source's
// answer is the result (a full event-service queue is counted by adsp.Events).
type teePublisher struct {
	local  source.Publisher
	remote *adsp.Events
}

func (t teePublisher) Publish(ev *source.Event) (string, error) {
	_, _ = t.remote.Publish(ev)
	return t.local.Publish(ev)
}

// ForgetKey forgets the key in the local source (engine/api: a retry after "not recorded").
func (t teePublisher) ForgetKey(tenantURN, key string) {
	if f, ok := t.local.(interface{ ForgetKey(tenantURN, key string) }); ok {
		f.ForgetKey(tenantURN, key)
	}
}
