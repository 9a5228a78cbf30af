package hist

import (
	"math"
	"math/bits"
	"time"
)

const (
	subBits    = 7
	subCount   = 1 << subBits // 128 buckets per power of two
	linearTop  = 2 * subCount // values below this are exact
	maxValueUS = 60_000_000   // 60 s in µs
	numBuckets = 2533         // index(maxValueUS) + 1, checked in tests
	usPerNano  = int64(time.Microsecond)
)

// Histogram counts values in log-linear buckets. The zero value is not
// usable; call New.
type Histogram struct {
	counts []uint64
	n      uint64
	min    int64 // µs
	max    int64 // µs
	sum    float64
}

// New returns an empty histogram.
func New() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// index returns the bucket of v (µs, ≥ 0, ≤ maxValueUS).
func index(v int64) int {
	if v < linearTop {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1)
	return linearTop + (shift-1)*subCount + int(v>>uint(shift)) - subCount
}

// bounds returns the lowest value of bucket i and its width.
func bounds(i int) (lo, width int64) {
	if i < linearTop {
		return int64(i), 1
	}
	j := i - linearTop
	shift := j/subCount + 1
	m := int64(j%subCount + subCount)
	return m << uint(shift), 1 << uint(shift)
}

// Record adds one duration (negative durations count as 0).
func (h *Histogram) Record(d time.Duration) { h.RecordMicros(int64(d) / usPerNano) }

// RecordMicros adds one value given in microseconds.
func (h *Histogram) RecordMicros(v int64) {
	if v < 0 {
		v = 0
	}
	c := v
	if c > maxValueUS {
		c = maxValueUS
	}
	h.counts[index(c)]++
	h.n++
	h.sum += float64(v)
	if v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.max * usPerNano)
}

// Min returns the smallest recorded value (exact), 0 when empty.
func (h *Histogram) Min() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.min * usPerNano)
}

// Mean returns the exact mean, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n) * float64(usPerNano))
}

// Quantile returns the value at quantile q (0..1): the midpoint of the bucket
// holding the ceil(q·n)-th smallest value, clamped to [Min, Max].
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := bounds(i)
			v := lo + (w-1)/2
			v = max(h.min, min(v, h.max))
			return time.Duration(v * usPerNano)
		}
	}
	return h.Max()
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Reset empties h, keeping its memory.
func (h *Histogram) Reset() {
	clear(h.counts)
	h.n, h.sum, h.min, h.max = 0, 0, math.MaxInt64, 0
}

// Clone returns a copy of h.
func (h *Histogram) Clone() *Histogram {
	c := *h
	c.counts = append([]uint64(nil), h.counts...)
	return &c
}
