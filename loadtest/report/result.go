package report

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/pushgate/pushgate/loadtest/hist"
)

// Result is one step (Step ≥ 0) or the summary (Summary true).
type Result struct {
	Scenario     string  `json:"scenario"`
	Kind         string  `json:"kind"`
	Step         int     `json:"step"`
	Summary      bool    `json:"summary,omitempty"`
	Procs        int     `json:"procs"`
	TargetConns  int     `json:"target_conns"`
	Conns        int64   `json:"conns"` // clients ready (not failed, not dropped) at the end of the step
	PublishRate  float64 `json:"publish_rate"`
	Burst        int     `json:"burst"`
	PayloadBytes int     `json:"payload_bytes"`
	DurationS    float64 `json:"duration_s"`

	Published     int64   `json:"published"`
	PublishErrors int64   `json:"publish_errors"`
	PublishLateMs float64 `json:"publish_late_p99_ms"` // POST start − scheduled time, p99

	Deliveries int64   `json:"deliveries"`
	Rate       float64 `json:"rate"` // deliveries/s over the step
	Expected   int64   `json:"expected"`
	Lost       int64   `json:"lost"`
	LostMethod string  `json:"lost_method"` // "publog" or "gaps"
	Dup        int64   `json:"dup"`
	OutOfOrder int64   `json:"out_of_order"`

	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`

	Errors       int64            `json:"errors"` // failed + dropped + publish errors
	Failed       int64            `json:"failed"`
	Dropped      int64            `json:"dropped"` // closed by the server after ready (slow clients excluded)
	ErrorKinds   map[string]int64 `json:"error_kinds,omitempty"`
	FirstError   string           `json:"first_error,omitempty"`
	ConnectP50Ms float64          `json:"connect_p50_ms"`
	ConnectP99Ms float64          `json:"connect_p99_ms"`
	Slow         int64            `json:"slow"`
	SlowClosed   int64            `json:"slow_closed"`
	Pings        int64            `json:"pings"`

	Latency *hist.Histogram `json:"latency_hist,omitempty"`
	Connect *hist.Histogram `json:"connect_hist,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Finalize computes the percentile fields and Rate from the histograms.
func (r *Result) Finalize() {
	if h := r.Latency; h != nil {
		r.Deliveries = int64(h.Count())
		r.P50Ms, r.P90Ms, r.P99Ms = ms(h.Quantile(0.5)), ms(h.Quantile(0.9)), ms(h.Quantile(0.99))
		r.P999Ms, r.MaxMs, r.MeanMs = ms(h.Quantile(0.999)), ms(h.Max()), ms(h.Mean())
	}
	if h := r.Connect; h != nil {
		r.ConnectP50Ms, r.ConnectP99Ms = ms(h.Quantile(0.5)), ms(h.Quantile(0.99))
	}
	if r.DurationS > 0 {
		r.Rate = float64(r.Deliveries) / r.DurationS
	}
	r.Errors = r.Failed + r.Dropped + r.PublishErrors
}

// Merge adds o's client-side counts and histograms into r (same step, other
// process). Publisher fields and labels are left to the caller.
func (r *Result) Merge(o *Result) {
	r.Conns += o.Conns
	r.Expected += o.Expected
	r.Lost += o.Lost
	r.Dup += o.Dup
	r.OutOfOrder += o.OutOfOrder
	r.Failed += o.Failed
	r.Dropped += o.Dropped
	r.Slow += o.Slow
	r.SlowClosed += o.SlowClosed
	r.Pings += o.Pings
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	for k, v := range o.ErrorKinds {
		if r.ErrorKinds == nil {
			r.ErrorKinds = map[string]int64{}
		}
		r.ErrorKinds[k] += v
	}
	r.Latency = mergeHist(r.Latency, o.Latency)
	r.Connect = mergeHist(r.Connect, o.Connect)
}

func mergeHist(a, b *hist.Histogram) *hist.Histogram {
	if b == nil {
		return a
	}
	if a == nil {
		a = hist.New()
	}
	a.Merge(b)
	return a
}

// StripHists drops the histograms (for the compact output lines).
func (r *Result) StripHists() { r.Latency, r.Connect = nil, nil }

// Human writes a readable table of results.
func Human(w io.Writer, rs []Result) {
	fmt.Fprintf(w, "%-8s %5s %7s %8s %9s %10s %9s %8s %8s %8s %8s %7s %6s %5s %6s %7s\n",
		"scenario", "step", "conns", "pub/s", "published", "deliveries", "deliv/s", "p50ms", "p99ms", "p999ms", "maxms", "lost", "dup", "ooo", "errors", "conn99")
	for _, r := range rs {
		step := fmt.Sprint(r.Step)
		if r.Summary {
			step = "all"
		}
		fmt.Fprintf(w, "%-8s %5s %7d %8.1f %9d %10d %9.0f %8.2f %8.2f %8.2f %8.2f %7d %6d %5d %6d %7.1f\n",
			r.Scenario, step, r.Conns, r.PublishRate, r.Published, r.Deliveries, r.Rate, r.P50Ms, r.P99Ms, r.P999Ms, r.MaxMs,
			r.Lost, r.Dup, r.OutOfOrder, r.Errors, r.ConnectP99Ms)
	}
	for _, r := range rs {
		if r.Summary && len(r.ErrorKinds) > 0 {
			keys := make([]string, 0, len(r.ErrorKinds))
			for k := range r.ErrorKinds {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintf(w, "errors by kind:")
			for _, k := range keys {
				fmt.Fprintf(w, " %s=%d", k, r.ErrorKinds[k])
			}
			fmt.Fprintf(w, "\nfirst error: %s\n", r.FirstError)
		}
	}
}
