package metrics

import (
	"cmp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// OtherLabel is the label value that sums every entity beyond the cap.
const OtherLabel = "other"

// StreamRow is one stream scope's figures (tenant "" is the core, cross-tenant scope).
type StreamRow struct {
	Tenant, Stream string
	Subscriptions  int64
	Deliveries     int64
	Drops          int64
}

// RegisterPerStream registers the per-stream and per-tenant series read from rows at each
// scrape: pushgate_{stream,tenant}_{subscriptions,deliveries_total,drops_total}. Only the top
// limit streams and the top limit tenants (by deliveries, then subscriptions) get series of
// their own; the rest are summed under tenant/stream="other", which is always exported — so a
// tenant with 10,000 streams adds at most limit+1 series per name. An entity that enters the top
// moves its count out of "other" (which may then decrease: read "other" as a gauge of the rest).
func RegisterPerStream(r prometheus.Registerer, limit int, rows func() []StreamRow) {
	r.MustRegister(&perStream{limit: max(limit, 1), rows: rows})
}

var (
	streamLabels   = []string{"tenant", "stream"}
	tenantLabels   = []string{"tenant"}
	descStreamSubs = prometheus.NewDesc("pushgate_stream_subscriptions", "Active subscriptions per stream (top streams by deliveries; the rest under stream=\"other\").", streamLabels, nil)
	descStreamDel  = prometheus.NewDesc("pushgate_stream_deliveries_total", "Items queued to subscribers per stream (top streams; the rest under stream=\"other\").", streamLabels, nil)
	descStreamDrop = prometheus.NewDesc("pushgate_stream_drops_total", "Items dropped per stream: the connection was closed or too slow (top streams; the rest under stream=\"other\").", streamLabels, nil)
	descTenantSubs = prometheus.NewDesc("pushgate_tenant_subscriptions", "Active subscriptions per tenant (top tenants by deliveries; the rest under tenant=\"other\").", tenantLabels, nil)
	descTenantDel  = prometheus.NewDesc("pushgate_tenant_deliveries_total", "Items queued to subscribers per tenant (top tenants; the rest under tenant=\"other\").", tenantLabels, nil)
	descTenantDrop = prometheus.NewDesc("pushgate_tenant_drops_total", "Items dropped per tenant (top tenants; the rest under tenant=\"other\").", tenantLabels, nil)
)

type perStream struct {
	limit int
	rows  func() []StreamRow
}

func (c *perStream) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStreamSubs, descStreamDel, descStreamDrop, descTenantSubs, descTenantDel, descTenantDrop} {
		ch <- d
	}
}

func (c *perStream) Collect(ch chan<- prometheus.Metric) {
	rows := c.rows()
	byTenant := map[string]*StreamRow{}
	for _, r := range rows {
		t := byTenant[r.Tenant]
		if t == nil {
			t = &StreamRow{Tenant: r.Tenant}
			byTenant[r.Tenant] = t
		}
		t.Subscriptions += r.Subscriptions
		t.Deliveries += r.Deliveries
		t.Drops += r.Drops
	}
	tenants := make([]StreamRow, 0, len(byTenant))
	for _, t := range byTenant {
		tenants = append(tenants, *t)
	}
	top, other := capRows(rows, c.limit)
	for _, r := range top {
		emit(ch, descStreamSubs, descStreamDel, descStreamDrop, r, tenantLabel(r.Tenant), r.Stream)
	}
	emit(ch, descStreamSubs, descStreamDel, descStreamDrop, other, OtherLabel, OtherLabel)
	top, other = capRows(tenants, c.limit)
	for _, r := range top {
		emit(ch, descTenantSubs, descTenantDel, descTenantDrop, r, tenantLabel(r.Tenant))
	}
	emit(ch, descTenantSubs, descTenantDel, descTenantDrop, other, OtherLabel)
}

// capRows returns the top limit rows and the sum of the others.
func capRows(rows []StreamRow, limit int) (top []StreamRow, other StreamRow) {
	slices.SortFunc(rows, func(a, b StreamRow) int {
		return cmp.Or(cmp.Compare(b.Deliveries, a.Deliveries), cmp.Compare(b.Subscriptions, a.Subscriptions),
			cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.Stream, b.Stream))
	})
	if len(rows) <= limit {
		return rows, other
	}
	for _, r := range rows[limit:] {
		other.Subscriptions += r.Subscriptions
		other.Deliveries += r.Deliveries
		other.Drops += r.Drops
	}
	return rows[:limit], other
}

func emit(ch chan<- prometheus.Metric, subs, del, drop *prometheus.Desc, r StreamRow, labels ...string) {
	ch <- prometheus.MustNewConstMetric(subs, prometheus.GaugeValue, float64(r.Subscriptions), labels...)
	ch <- prometheus.MustNewConstMetric(del, prometheus.CounterValue, float64(r.Deliveries), labels...)
	ch <- prometheus.MustNewConstMetric(drop, prometheus.CounterValue, float64(r.Drops), labels...)
}

// tenantLabel is a tenant's label value: the bare id of its URN, "core" for cross-tenant scopes.
func tenantLabel(urn string) string {
	if urn == "" {
		return "core"
	}
	for i := len(urn) - 1; i >= 0; i-- {
		if urn[i] == '/' {
			return urn[i+1:]
		}
	}
	return urn
}
