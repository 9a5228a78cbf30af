package webhook

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// stats are the service's counters; init registers them as pushgate_webhook_* (README "Metrics").
type stats struct {
	attempts   map[string]*atomic.Int64 // by outcome
	latency    prometheus.Histogram
	commits    prometheus.Histogram // events per group commit (durable.go)
	delivered  atomic.Int64
	dead       atomic.Int64
	cancelled  atomic.Int64
	dropped    atomic.Int64
	refused    atomic.Int64 // admissions refused: the backlog was full (backlog.go)
	emitErrors atomic.Int64
}

func (st *stats) init(s *Service, r prometheus.Registerer) {
	st.attempts = map[string]*atomic.Int64{}
	for _, o := range Outcomes {
		st.attempts[o] = new(atomic.Int64)
	}
	st.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "pushgate_webhook_attempt_duration_seconds",
		Help:    "Duration of webhook attempts, from the request to the end of the (capped) response body.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
	})
	st.commits = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "pushgate_webhook_commit_events",
		Help:    "Events whose webhook deliveries were made durable together, per journal append (or store commit without a journal).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
	if r == nil {
		return
	}
	r.MustRegister(st.latency, st.commits)
	for _, o := range Outcomes {
		v := st.attempts[o]
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushgate_webhook_attempts_total",
			Help: "Webhook attempts by outcome (success, http_3xx, http_4xx, http_5xx, timeout, network, ssrf_blocked).", ConstLabels: prometheus.Labels{"outcome": o}},
			func() float64 { return float64(v.Load()) }))
	}
	for result, v := range map[string]*atomic.Int64{"delivered": &st.delivered, "dead": &st.dead, "cancelled": &st.cancelled} {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushgate_webhook_deliveries_total",
			Help: "Webhook deliveries that ended, by result (delivered, dead = dead-lettered, cancelled = webhook removed).", ConstLabels: prometheus.Labels{"result": result}},
			func() float64 { return float64(v.Load()) }))
	}
	r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushgate_webhook_events_dropped_total",
		Help: "Events not matched against webhooks because the match queue was full."}, func() float64 { return float64(st.dropped.Load()) }))
	r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushgate_webhook_backlog_refusals_total",
		Help: "Events (or batches of them) refused because the pending deliveries reached --webhook-max-pending."}, func() float64 { return float64(st.refused.Load()) }))
	r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pushgate_webhook_emit_errors_total",
		Help: "push-service:webhook-triggered/-disabled events the event source refused."}, func() float64 { return float64(st.emitErrors.Load()) }))
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pushgate_webhook_pending",
		Help: "Webhook deliveries waiting to be sent or retried."}, func() float64 { p, _, _ := s.gauges(); return float64(p) }))
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pushgate_webhook_oldest_pending_age_seconds",
		Help: "Age of the oldest pending webhook delivery (0 when none)."}, func() float64 { _, a, _ := s.gauges(); return a.Seconds() }))
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pushgate_webhook_endpoints_disabled",
		Help: "Configured webhooks that are disabled (410 Gone or failing longer than --webhook-disable-after)."}, func() float64 { _, _, d := s.gauges(); return float64(d) }))
}

func (st *stats) observe(r result) {
	if v := st.attempts[r.outcome]; v != nil {
		v.Add(1)
	}
	st.latency.Observe(r.latency.Seconds())
}

// gauges scans the pending set (at scrape time only).
func (s *Service) gauges() (pending int, oldest time.Duration, disabled int) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.pending {
		oldest = max(oldest, now.Sub(d.Created))
	}
	for _, ep := range s.eps {
		if ep.st.Disabled {
			disabled++
		}
	}
	return len(s.pending), oldest, disabled
}
