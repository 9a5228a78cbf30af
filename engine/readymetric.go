package engine

import "github.com/pushgate/pushgate/engine/metrics"

// registerReadyMetric exposes /readyz (Ready) as the gauge pushgate_ready (metrics.Ready).
func (s *Server) registerReadyMetric() {
	metrics.Ready(s.Metrics, s.Ready)
}
