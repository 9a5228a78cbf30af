package client

import "math/bits"

// Track records the seqs one client received in a bitset, plus duplicate and
// out-of-order counts. The zero value is ready.
type Track struct {
	base  int64 // seq of bit 0 (a multiple of 64)
	bits  []uint64
	Got   int64 // deliveries with a seq (duplicates included)
	Dup   int64 // seq already received
	OOO   int64 // seq lower than the highest seen (not a duplicate)
	MaxSq int64 // highest seq seen
	MinSq int64 // lowest seq seen
}

// Add records one delivery of seq (seqs ≤ 0 are counted but not tracked).
func (t *Track) Add(seq int64) {
	t.Got++
	if seq <= 0 {
		return
	}
	if t.bits == nil {
		t.base = seq &^ 63
		t.MinSq, t.MaxSq = seq, seq
	}
	if seq < t.base {
		nb := seq &^ 63
		grow := int((t.base - nb) / 64)
		t.bits = append(make([]uint64, grow, grow+len(t.bits)), t.bits...)
		t.base = nb
	}
	w := int((seq - t.base) / 64)
	for w >= len(t.bits) {
		t.bits = append(t.bits, 0)
	}
	m := uint64(1) << uint((seq-t.base)%64)
	switch {
	case t.bits[w]&m != 0:
		t.Dup++
		return
	case seq < t.MaxSq:
		t.OOO++
	}
	t.bits[w] |= m
	t.MaxSq = max(t.MaxSq, seq)
	t.MinSq = min(t.MinSq, seq)
}

// Has reports whether seq was received.
func (t *Track) Has(seq int64) bool {
	if seq < t.base || t.bits == nil {
		return false
	}
	w := int((seq - t.base) / 64)
	return w < len(t.bits) && t.bits[w]&(1<<uint((seq-t.base)%64)) != 0
}

// Distinct returns the number of different seqs received.
func (t *Track) Distinct() int64 {
	n := 0
	for _, w := range t.bits {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// Gaps returns the seqs missing between the lowest and highest received:
// the loss estimate when no publisher log is available.
func (t *Track) Gaps() int64 {
	if t.bits == nil {
		return 0
	}
	return t.MaxSq - t.MinSq + 1 - t.Distinct()
}
