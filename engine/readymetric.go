package engine

import "github.com/pushgate/pushgate/engine/metrics"

// registerReadyMetric exposes /readyz as the gauge pushgate_ready, so that "not ready" (Kafka topic
// missing, brokers unreachable, draining) is alertable from the same scrape as everything else
// (deploy/prometheus/alerts.yaml): Prometheus scrapes pods whether or not they are ready.
func (s *Server) registerReadyMetric() {
	metrics.Gauge(s.Metrics, "pushgate_ready", "1 while /readyz answers 200, else 0 (starting, Kafka not ready, draining).", func() float64 {
		if s.Ready() != nil {
			return 0
		}
		return 1
	})
}
