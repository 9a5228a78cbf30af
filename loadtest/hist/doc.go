// Package hist is a small log-linear latency histogram in the spirit of
// HdrHistogram: values from 1 µs to 60 s land in buckets whose width is at most
// 1/128 of their lower bound, so any percentile it reports is within 1% of the
// true value (0.4% when the bucket midpoint is reported, which it is).
//
// Layout (unit = 1 µs, value v):
//
//	v < 256            one bucket per microsecond (exact)
//	v ≥ 256            shift = bits.Len(v) - 8; 128 buckets of width 2^shift
//	                   per power of two: index = 256 + (shift-1)*128 + (v>>shift) - 128
//	v > 60 s           clamped into the last bucket (Max still keeps the exact value)
//
// A Histogram is a plain value owned by one goroutine; merge per-goroutine
// histograms with Merge. Sub-microsecond values count as 0 µs. Histograms
// serialise to a sparse JSON form (MarshalJSON/UnmarshalJSON) so separate
// processes can be merged exactly.
//
// The bench harness can reuse it:
//
//	h := hist.New()
//	h.Record(d)                 // time.Duration
//	h.Merge(other)
//	h.Quantile(0.99)            // time.Duration
//	b, _ := json.Marshal(h)     // {"n":..,"min_us":..,"max_us":..,"sum_us":..,"b":[[idx,count],...]}
package hist
