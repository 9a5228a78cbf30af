package edge

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/push"
)

// registerMetrics exposes the components' counters (README "Metrics" documents each name).
func (s *Server) registerMetrics(r prometheus.Registerer) {
	ns := &s.Net.Stats
	hs := &s.Hub.Stats
	g := func(name, help string, fn func() float64) { metrics.Gauge(r, name, help, fn) }
	c := func(name, help string, fn func() float64) { metrics.Counter(r, name, help, fn) }
	g("pushgate_connections", "Open TCP connections (all transports).", func() float64 { return float64(ns.Conns.Load()) })
	c("pushgate_connections_accepted_total", "Accepted TCP connections.", func() float64 { return float64(ns.Accepted.Load()) })
	rej := prometheus.CounterOpts{Name: "pushgate_connections_rejected_total", Help: "Connections refused at admission, by reason."}
	for reason, v := range map[string]func() int64{
		"max-conns": ns.Rejected.Load, "max-conns-per-ip": ns.RejectedIP.Load, "connect-rate": ns.RejectedRate.Load,
	} {
		o := rej
		o.ConstLabels = prometheus.Labels{"reason": reason}
		r.MustRegister(prometheus.NewCounterFunc(o, func() float64 { return float64(v()) }))
	}
	c("pushgate_slow_consumer_closes_total", "Connections closed because their queue passed --max-pending-bytes.", func() float64 { return float64(ns.SlowConsumers.Load()) })
	c("pushgate_write_timeout_closes_total", "Connections closed because their socket stayed unwritable for --write-timeout.", func() float64 { return float64(ns.WriteTimeouts.Load()) })
	c("pushgate_header_timeout_closes_total", "Connections closed for not completing a request head in time.", func() float64 { return float64(ns.HeaderTimeouts.Load()) })
	c("pushgate_connections_handed_off_total", "WebSocket upgrades passed to the worker process owning their session (--workers).", func() float64 { return float64(ns.HandedOff.Load()) })
	c("pushgate_connections_adopted_total", "WebSocket upgrades received from another worker process for a session of this one (--workers).", func() float64 { return float64(ns.Adopted.Load()) })
	c("pushgate_rate_limited_closes_total", "Client sessions closed for sending above --max-inbound-rate.", func() float64 { return float64(s.SIO.RateLimited.Load()) })
	g("pushgate_queued_bytes", "Bytes queued for clients, not yet written.", func() float64 { return float64(s.Net.QueuedBytes()) })
	c("pushgate_write_syscalls_total", "writev calls made to client sockets.", func() float64 { return float64(ns.WriteSyscalls.Load()) })
	c("pushgate_events_total", "Events received from the source.", func() float64 { return float64(hs.Events.Load()) })
	c("pushgate_stream_items_total", "Projected stream items (one per matching stream scope per event).", func() float64 { return float64(hs.Items.Load()) })
	c("pushgate_deliveries_total", "Items queued to subscribers.", func() float64 { return float64(hs.Deliveries.Load()) })
	g("pushgate_subscriptions", "Active stream subscriptions (Socket.IO and SSE).", func() float64 { return float64(hs.Subs.Load()) })
	g("pushgate_sse_streams", "Open SSE streams.", func() float64 { return float64(s.SSE.Count()) })
	metrics.RegisterPerStream(r, s.cfg.MetricsTopStreams, func() []metrics.StreamRow {
		var rows []metrics.StreamRow
		s.Hub.EachStream(func(tenant, stream string, st *hub.StreamStats) {
			rows = append(rows, metrics.StreamRow{Tenant: tenant, Stream: stream, Subscriptions: st.Subscriptions.Load(),
				Deliveries: st.Deliveries.Load(), Drops: st.Drops.Load()})
		})
		return rows
	})

	as := &s.seams.Verifier.Stats
	c("pushgate_jwks_refreshes_total", "Key-set fetches (discovery + JWKS) of the token issuers.", func() float64 { return float64(as.Refreshes.Load()) })
	c("pushgate_jwks_refresh_errors_total", "Failed key-set fetches.", func() float64 { return float64(as.RefreshErrors.Load()) })
	c("pushgate_tokens_verified_total", "Tokens accepted.", func() float64 { return float64(as.Verified.Load()) })
	c("pushgate_tokens_rejected_total", "Tokens rejected (expired, bad signature, wrong audience or issuer, …).", func() float64 { return float64(as.Rejected.Load()) })
	ps := &s.pushStats
	for ti, tname := range []string{"socketio", "sse"} {
		ti := ti
		o := prometheus.CounterOpts{Name: "pushgate_subscribes_total", Help: "Accepted subscriptions by transport.", ConstLabels: prometheus.Labels{"transport": tname}}
		r.MustRegister(prometheus.NewCounterFunc(o, func() float64 { return float64(ps.Accepted[ti].Load()) }))
		for ci, code := range push.Codes {
			ci := ci
			o := prometheus.CounterOpts{Name: "pushgate_subscribe_rejections_total", Help: "Refused subscriptions by transport and code (unauthorized, forbidden, not_found, bad_request, unavailable).",
				ConstLabels: prometheus.Labels{"transport": tname, "code": code}}
			r.MustRegister(prometheus.NewCounterFunc(o, func() float64 { return float64(ps.Refused[ti][ci].Load()) }))
		}
	}
	for i, reason := range push.EndReasons {
		i := i
		o := prometheus.CounterOpts{Name: "pushgate_server_disconnects_total", Help: "Subscriptions ended by the server, by reason.", ConstLabels: prometheus.Labels{"reason": string(reason)}}
		r.MustRegister(prometheus.NewCounterFunc(o, func() float64 { return float64(ps.Ended[i].Load()) }))
	}
}
