package engine

import "github.com/pushgate/pushgate/engine/metrics"

// registerReadyMetric exposes /readyz as the gauge pushgate_ready (metrics.Ready).
func (s *Server) registerReadyMetric() {
	metrics.Ready(s.Metrics, func() error {
		if err := s.draining(); err != nil {
			return err
		}
		return s.Control.Ready()
	})
}
