package hist

import (
	"encoding/json"
	"fmt"
	"math"
)

type wire struct {
	N     uint64      `json:"n"`
	MinUS int64       `json:"min_us"`
	MaxUS int64       `json:"max_us"`
	SumUS float64     `json:"sum_us"`
	B     [][2]uint64 `json:"b"`
}

// MarshalJSON writes the sparse form: only non-empty buckets as [index, count].
func (h *Histogram) MarshalJSON() ([]byte, error) {
	w := wire{N: h.n, MaxUS: h.max, SumUS: h.sum, B: [][2]uint64{}}
	if h.n > 0 {
		w.MinUS = h.min
	}
	for i, c := range h.counts {
		if c != 0 {
			w.B = append(w.B, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON wrote, replacing h's contents.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	nh := New()
	var total uint64
	for _, p := range w.B {
		if p[0] >= numBuckets {
			return fmt.Errorf("hist: bucket index %d out of range", p[0])
		}
		nh.counts[p[0]] += p[1]
		total += p[1]
	}
	if total != w.N {
		return fmt.Errorf("hist: bucket counts sum to %d, n is %d", total, w.N)
	}
	nh.n, nh.sum, nh.max = w.N, w.SumUS, w.MaxUS
	nh.min = math.MaxInt64
	if w.N > 0 {
		nh.min = w.MinUS
	}
	*h = *nh
	return nil
}
