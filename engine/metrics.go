package engine

import (
	"github.com/pushgate/pushgate/engine/metrics"
)

// registerMetrics exposes the components' counters (README "Metrics" documents each name).
func (s *Server) registerMetrics() {
	r := s.Metrics
	ns := &s.Net.Stats
	hs := &s.Hub.Stats
	g := func(name, help string, fn func() float64) { metrics.Gauge(r, name, help, fn) }
	c := func(name, help string, fn func() float64) { metrics.Counter(r, name, help, fn) }
	g("pushgate_connections", "Open TCP connections (all transports).", func() float64 { return float64(ns.Conns.Load()) })
	c("pushgate_connections_accepted_total", "Accepted TCP connections.", func() float64 { return float64(ns.Accepted.Load()) })
	c("pushgate_connections_rejected_total", "Connections refused at the connection limit.", func() float64 { return float64(ns.Rejected.Load()) })
	c("pushgate_slow_consumer_closes_total", "Connections closed because their queue passed --max-pending-bytes.", func() float64 { return float64(ns.SlowConsumers.Load()) })
	c("pushgate_write_timeout_closes_total", "Connections closed because their socket stayed unwritable for --write-timeout.", func() float64 { return float64(ns.WriteTimeouts.Load()) })
	c("pushgate_header_timeout_closes_total", "Connections closed for not completing a request head in time.", func() float64 { return float64(ns.HeaderTimeouts.Load()) })
	g("pushgate_queued_bytes", "Bytes queued for clients, not yet written.", func() float64 { return float64(ns.QueuedBytes.Load()) })
	c("pushgate_write_syscalls_total", "writev calls made to client sockets.", func() float64 { return float64(ns.WriteSyscalls.Load()) })
	c("pushgate_events_total", "Events received from the source.", func() float64 { return float64(hs.Events.Load()) })
	c("pushgate_stream_items_total", "Projected stream items (one per matching stream scope per event).", func() float64 { return float64(hs.Items.Load()) })
	c("pushgate_deliveries_total", "Items queued to subscribers.", func() float64 { return float64(hs.Deliveries.Load()) })
	g("pushgate_subscriptions", "Active stream subscriptions (Socket.IO and SSE).", func() float64 { return float64(hs.Subs.Load()) })
	g("pushgate_engineio_sessions", "Open Engine.IO sessions.", func() float64 { return float64(len(s.SIO.Sessions())) })
	g("pushgate_sse_streams", "Open SSE streams.", func() float64 { return float64(s.SSE.Count()) })
}
