package hist

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestIndexLayout(t *testing.T) {
	if got := index(maxValueUS); got != numBuckets-1 {
		t.Fatalf("index(max) = %d, want %d", got, numBuckets-1)
	}
	// Buckets are contiguous and each value lies inside its own bucket.
	for _, v := range []int64{0, 1, 255, 256, 257, 511, 512, 1000, 65535, 1 << 20, 59_999_999, maxValueUS} {
		i := index(v)
		lo, w := bounds(i)
		if v < lo || v >= lo+w {
			t.Errorf("v=%d in bucket %d [%d,%d)", v, i, lo, lo+w)
		}
		if v >= linearTop && float64(w)/float64(lo) > 1.0/subCount+1e-12 {
			t.Errorf("bucket %d too wide: %d/%d", i, w, lo)
		}
	}
	prevEnd := int64(0)
	for i := 0; i < numBuckets; i++ {
		lo, w := bounds(i)
		if lo != prevEnd {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevEnd)
		}
		prevEnd = lo + w
	}
}

func TestQuantileAccuracy(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform-1ms-1s", func(r *rand.Rand) time.Duration {
			return time.Millisecond + time.Duration(r.Int64N(int64(time.Second)))
		}},
		{"lognormal", func(r *rand.Rand) time.Duration { return time.Duration(math.Exp(r.NormFloat64()*2+10) * 1000) }},
		{"tiny", func(r *rand.Rand) time.Duration { return time.Duration(1+r.IntN(300)) * time.Microsecond }},
		{"huge", func(r *rand.Rand) time.Duration { return time.Duration(1+r.IntN(59)) * time.Second }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			h := New()
			vals := make([]int64, 20000)
			for i := range vals {
				d := tc.gen(r)
				if d > 60*time.Second {
					d = 60 * time.Second
				}
				h.Record(d)
				vals[i] = int64(d) / 1000
			}
			slices.Sort(vals)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				rank := int(math.Ceil(q*float64(len(vals)))) - 1
				want := float64(vals[rank])
				got := float64(h.Quantile(q) / time.Microsecond)
				if want >= 100 && math.Abs(got-want)/want > 0.01 {
					t.Errorf("q=%v got %v µs want %v µs (err %.3f%%)", q, got, want, 100*math.Abs(got-want)/want)
				}
				if want < 100 && math.Abs(got-want) > 1 {
					t.Errorf("q=%v got %v µs want %v µs", q, got, want)
				}
			}
			if h.Max() != time.Duration(vals[len(vals)-1])*time.Microsecond {
				t.Errorf("max %v want %v µs", h.Max(), vals[len(vals)-1])
			}
		})
	}
}

func TestMergeEqualsCombined(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a, b, all := New(), New(), New()
	for i := 0; i < 5000; i++ {
		d := time.Duration(r.Int64N(int64(2 * time.Second)))
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(b)
	if a.Count() != all.Count() || a.Max() != all.Max() || a.Min() != all.Min() {
		t.Fatalf("merge mismatch: n %d/%d max %v/%v", a.Count(), all.Count(), a.Max(), all.Max())
	}
	for _, q := range []float64{0.1, 0.5, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q=%v: %v vs %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	a.Merge(New()) // merging an empty histogram changes nothing
	if a.Min() != all.Min() {
		t.Errorf("min changed after empty merge")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	h := New()
	for _, d := range []time.Duration{0, time.Microsecond, 3 * time.Millisecond, 2 * time.Minute} {
		h.Record(d)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var g Histogram
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.Count() != 4 || g.Max() != 2*time.Minute || g.Quantile(0.75) != h.Quantile(0.75) || g.Mean() != h.Mean() {
		t.Fatalf("round trip: %s -> n=%d max=%v", b, g.Count(), g.Max())
	}
	empty, _ := json.Marshal(New())
	var e Histogram
	if err := json.Unmarshal(empty, &e); err != nil || e.Count() != 0 || e.Quantile(0.5) != 0 {
		t.Fatalf("empty round trip: %v %s", err, empty)
	}
	if err := json.Unmarshal([]byte(`{"n":2,"b":[[1,1]]}`), &e); err == nil {
		t.Fatal("want error for inconsistent counts")
	}
	if err := json.Unmarshal([]byte(`{"n":1,"b":[[99999,1]]}`), &e); err == nil {
		t.Fatal("want error for out-of-range bucket")
	}
}
