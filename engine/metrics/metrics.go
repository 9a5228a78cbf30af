package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry is a registry with the Go runtime and process collectors.
func Registry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Gauge registers a gauge read from fn.
func Gauge(r prometheus.Registerer, name, help string, fn func() float64) {
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Counter registers a counter read from fn (fn must never decrease).
func Counter(r prometheus.Registerer, name, help string, fn func() float64) {
	r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// ReadyName is the gauge that mirrors /readyz (deploy/prometheus/alerts.yaml alerts on it).
const ReadyName = "pushgate_ready"

// Ready registers pushgate_ready, read from ready (the process's /readyz check), so that "not
// ready" (Kafka topic missing, brokers unreachable, link to the parent down, draining) is
// alertable from the same scrape as everything else: Prometheus scrapes pods whether or not they
// are ready. Every assembly (one process, the parent and each worker of --workers, a Kafka
// instance) registers it with this one function.
func Ready(r prometheus.Registerer, ready func() error) {
	Gauge(r, ReadyName, "1 while /readyz answers 200, else 0 (starting, Kafka not ready, link to the parent down, draining).", func() float64 {
		if ready() != nil {
			return 0
		}
		return 1
	})
}
