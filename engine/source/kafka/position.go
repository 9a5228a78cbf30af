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

var posEncoding = base64.RawURLEncoding // lenient: an event position, not a MAC (a re-spelling names the same position)

// EncodePosition returns the id form of p: base64url (no padding) of
// [version=1][uvarint own][uvarint n] then n × [uvarint partition delta][uvarint offset],
// partitions ascending (the first delta is the partition itself). own is 0 here; in an event id it
// is the event's partition + 1, so that the event's own (partition, offset) can be recovered
// (EventPosition). The result is URL-safe and instance-independent.
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
	return string(appendPosition(nil, vec, -1))
}

// entry is one partition of a vector kept sorted by partition.
type entry struct {
	part int
	next int64
}

// appendPosition appends the encoded (base64url) form of the sorted vector to dst; own is the
// partition of the event the id belongs to, -1 for none.
func appendPosition(dst []byte, vec []entry, own int) []byte {
	var raw [1 + binary.MaxVarintLen64*2*16]byte
	b := raw[:0]
	if len(vec) > 16 {
		b = make([]byte, 0, 1+binary.MaxVarintLen64*(1+2*len(vec)))
	}
	b = append(b, positionVersion)
	b = binary.AppendUvarint(b, uint64(own+1))
	b = binary.AppendUvarint(b, uint64(len(vec)))
	prev := 0
	for _, e := range vec {
		b = binary.AppendUvarint(b, uint64(e.part-prev))
		b = binary.AppendUvarint(b, uint64(max(e.next, 0)))
		prev = e.part
	}
	return posEncoding.AppendEncode(dst, b)
}

// DecodePosition parses an id produced by EncodePosition or assigned to an event. It rejects
// anything else (including embedded-mode ids) with ErrBadPosition.
func DecodePosition(id string) (Position, error) {
	p, _, err := decodeID(id)
	return p, err
}

// EventPosition parses an event id: the position after the event, and the event's own partition
// and offset. Ids without an event (EncodePosition's) give ErrBadPosition.
func EventPosition(id string) (pos Position, partition int, offset int64, err error) {
	pos, own, err := decodeID(id)
	if err != nil {
		return nil, 0, 0, err
	}
	next, ok := pos[own]
	if own < 0 || !ok || next < 1 {
		return nil, 0, 0, ErrBadPosition
	}
	return pos, own, next - 1, nil
}

func decodeID(id string) (Position, int, error) {
	if len(id) == 0 || len(id) > posEncoding.EncodedLen(1+binary.MaxVarintLen64*(2+2*maxPositionPartitions)) {
		return nil, 0, ErrBadPosition
	}
	b, err := posEncoding.DecodeString(id)
	if err != nil || len(b) < 3 || b[0] != positionVersion {
		return nil, 0, ErrBadPosition
	}
	b = b[1:]
	own, k := binary.Uvarint(b)
	if k <= 0 || own > 1<<31 {
		return nil, 0, ErrBadPosition
	}
	b = b[k:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxPositionPartitions {
		return nil, 0, ErrBadPosition
	}
	b = b[k:]
	p := make(Position, n)
	part := uint64(0)
	for i := uint64(0); i < n; i++ {
		d, k := binary.Uvarint(b)
		if k <= 0 || (i > 0 && d == 0) || d > 1<<31 {
			return nil, 0, ErrBadPosition
		}
		b = b[k:]
		if part += d; part > 1<<31-1 {
			return nil, 0, ErrBadPosition
		}
		off, k := binary.Uvarint(b)
		if k <= 0 || off > 1<<62 {
			return nil, 0, ErrBadPosition
		}
		b = b[k:]
		p[int(part)] = int64(off)
	}
	if len(b) != 0 {
		return nil, 0, ErrBadPosition
	}
	if own > 0 {
		if _, ok := p[int(own-1)]; !ok {
			return nil, 0, ErrBadPosition
		}
	}
	return p, int(own) - 1, nil
}

// Contains reports whether the record at (partition, offset) lies before p, i.e. a client that
// resumes from p has already received it. With EventPosition this decides, for any instance's
// history, which events to replay: replay ev iff !from.Contains(EventPosition(ev.ID)).
func (p Position) Contains(partition int, offset int64) bool { return offset < p[partition] }

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

// RecordID is the id of the event in the record at (partition, offset) of the events topic as a
// Group hands it over: the record's own position, EncodePosition-style with the own partition set,
// so EventPosition(RecordID(p, o)) = ({p: o+1}, p, o), as for the Source's id of the same record.
// Unlike the Source's id (the position vector of one instance's history) it depends on nothing
// else, so every member that handles the record gives it the same id.
func RecordID(partition int, offset int64) string {
	return string(appendPosition(nil, []entry{{part: partition, next: offset + 1}}, partition))
}
