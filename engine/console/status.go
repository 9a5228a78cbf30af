package console

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"
)

// status is the console's server view. Each field is one /metrics series, summed over its labels
// (with --workers the parent's gatherer labels each process's series with "worker").
type status struct {
	Time               int64   `json:"time"`
	Connections        float64 `json:"connections"`
	Subscriptions      float64 `json:"subscriptions"`
	SSEStreams         float64 `json:"sseStreams"`
	QueuedBytes        float64 `json:"queuedBytes"`
	Events             float64 `json:"events"`
	Deliveries         float64 `json:"deliveries"`
	SlowConsumerCloses float64 `json:"slowConsumerCloses"`
	WriteTimeoutCloses float64 `json:"writeTimeoutCloses"`
	RateLimitedCloses  float64 `json:"rateLimitedCloses"`
}

// statusHandler reads the registry /metrics serves, so the console and a Prometheus scrape never
// disagree. Rates (deliveries per second) are left to the reader: two readings and their times.
func statusHandler(g prometheus.Gatherer) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		families, err := g.Gather()
		if err != nil && len(families) == 0 {
			fail(ctx, fasthttp.StatusInternalServerError, "Metrics are not available.")
			return
		}
		sums := make(map[string]float64, len(families))
		for _, f := range families {
			sums[f.GetName()] = sum(f)
		}
		writeJSON(ctx, fasthttp.StatusOK, status{
			Time:               time.Now().UnixMilli(),
			Connections:        sums["pushgate_connections"],
			Subscriptions:      sums["pushgate_subscriptions"],
			SSEStreams:         sums["pushgate_sse_streams"],
			QueuedBytes:        sums["pushgate_queued_bytes"],
			Events:             sums["pushgate_events_total"],
			Deliveries:         sums["pushgate_deliveries_total"],
			SlowConsumerCloses: sums["pushgate_slow_consumer_closes_total"],
			WriteTimeoutCloses: sums["pushgate_write_timeout_closes_total"],
			RateLimitedCloses:  sums["pushgate_rate_limited_closes_total"],
		})
	}
}

func sum(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		switch {
		case m.GetCounter() != nil:
			v += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			v += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			v += m.GetUntyped().GetValue()
		}
	}
	return v
}
