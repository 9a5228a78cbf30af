package kafka

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
)

// Position is a position vector over the events topic: partition -> next offset (the offset of the
// first record not yet delivered). A partition missing from a Position means "from its beginning"
// (partitions created after the position was taken).
type Position map[int]int64

// positionVersion is the first byte of every encoded position.
const positionVersion = 1

// maxPositionPartitions bounds a decoded position (and the work an untrusted id can cause).
const maxPositionPartitions = 4096

// ErrBadPosition reports an id that is not an encoded Position.
var ErrBadPosition = errors.New("kafka: malformed position id")

var posEncoding = base64.RawURLEncoding

// EncodePosition returns the id form of p: base64url (no padding) of
// [version=1][uvarint n] then n × [uvarint partition delta][uvarint offset], partitions ascending
// (the first delta is the partition itself). The result is URL-safe and instance-independent.
func EncodePosition(p Position) string {
	parts := make([]int, 0, len(p))
	for k := range p {
		parts = append(parts, k)
	}
	slices.Sort(parts)
	vec := make([]entry, len(parts))
	for i, k := range parts {
		vec[i] = entry{k, p[k]}
	}
	return string(appendPosition(nil, vec))
}

// entry is one partition of a vector kept sorted by partition.
type entry struct {
	part int
	next int64
}

// appendPosition appends the encoded (base64url) form of the sorted vector to dst.
func appendPosition(dst []byte, vec []entry) []byte {
	var raw [1 + binary.MaxVarintLen64*2*16]byte
	b := raw[:0]
	if len(vec) > 16 {
		b = make([]byte, 0, 1+binary.MaxVarintLen64*(1+2*len(vec)))
	}
	b = append(b, positionVersion)
	b = binary.AppendUvarint(b, uint64(len(vec)))
	prev := 0
	for _, e := range vec {
		b = binary.AppendUvarint(b, uint64(e.part-prev))
		b = binary.AppendUvarint(b, uint64(max(e.next, 0)))
		prev = e.part
	}
	return posEncoding.AppendEncode(dst, b)
}

// DecodePosition parses an id produced by EncodePosition. It rejects anything else (including
// embedded-mode ids) with ErrBadPosition.
func DecodePosition(id string) (Position, error) {
	if len(id) == 0 || len(id) > posEncoding.EncodedLen(1+binary.MaxVarintLen64*(1+2*maxPositionPartitions)) {
		return nil, ErrBadPosition
	}
	b, err := posEncoding.DecodeString(id)
	if err != nil || len(b) < 2 || b[0] != positionVersion {
		return nil, ErrBadPosition
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxPositionPartitions {
		return nil, ErrBadPosition
	}
	b = b[k:]
	p := make(Position, n)
	part := uint64(0)
	for i := uint64(0); i < n; i++ {
		d, k := binary.Uvarint(b)
		if k <= 0 || (i > 0 && d == 0) || d > 1<<31 {
			return nil, ErrBadPosition
		}
		b = b[k:]
		if part += d; part > 1<<31-1 {
			return nil, ErrBadPosition
		}
		off, k := binary.Uvarint(b)
		if k <= 0 || off > 1<<62 {
			return nil, ErrBadPosition
		}
		b = b[k:]
		p[int(part)] = int64(off)
	}
	if len(b) != 0 {
		return nil, ErrBadPosition
	}
	return p, nil
}

// Clone returns a copy of p.
func (p Position) Clone() Position {
	out := make(Position, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// Covers reports whether every record below q is also below p, i.e. p[k] >= q[k] for every
// partition of q (a missing partition in p counts as 0).
func (p Position) Covers(q Position) bool {
	for k, v := range q {
		if p[k] < v {
			return false
		}
	}
	return true
}
