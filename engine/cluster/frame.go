package cluster

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
)

// Frame types (doc.go "Link protocol").
const (
	TypeHello    byte = 'H' // worker → parent: index, parent epoch seen last, last event seq
	TypeReady    byte = 'R' // worker → parent: snapshot applied, serving
	TypeSnapshot byte = 'S' // parent → worker: tenants and every stream document
	TypeEvent    byte = 'E' // parent → worker: one event with its link sequence number
	TypePing     byte = 'P' // parent → worker: keep-alive
	TypeBacklog  byte = 'B' // parent → new worker: an earlier event, for its replay history only
	TypeOrder    byte = 'O' // parent → worker: an operator order (engine/operator JSON)
)

// MaxFrame bounds one frame (type byte and payload). Snapshots carry every tenant's document, so
// the bound is generous; events are bounded far below it by the ingest limit.
const MaxFrame = 64 << 20

var (
	// ErrShort reports that more bytes are needed to decode a frame.
	ErrShort = errors.New("cluster: short frame")
	// ErrFrameTooLarge reports a length prefix above MaxFrame (or an empty frame).
	ErrFrameTooLarge = errors.New("cluster: frame length out of range")
	// ErrMalformed reports a payload that does not decode.
	ErrMalformed = errors.New("cluster: malformed frame payload")
)

// Frame is one decoded frame. Payload aliases the decoded buffer.
type Frame struct {
	Type    byte
	Payload []byte
}

// DecodeFrame decodes the frame at the start of b and returns how many bytes it used. It returns
// ErrShort (and n == 0) while b holds less than a whole frame.
func DecodeFrame(b []byte) (f Frame, n int, err error) {
	if len(b) < 4 {
		return Frame{}, 0, ErrShort
	}
	size := binary.BigEndian.Uint32(b)
	if size == 0 || size > MaxFrame {
		return Frame{}, 0, fmt.Errorf("%w: %d", ErrFrameTooLarge, size)
	}
	if uint64(len(b)-4) < uint64(size) {
		return Frame{}, 0, ErrShort
	}
	end := 4 + int(size)
	return Frame{Type: b[4], Payload: b[5:end:end]}, end, nil
}

// beginFrame appends a length placeholder and the type; endFrame fills the length in.
func beginFrame(dst []byte, typ byte) ([]byte, int) {
	at := len(dst)
	return append(dst, 0, 0, 0, 0, typ), at
}

func endFrame(dst []byte, at int) []byte {
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendPing appends a PING frame.
func AppendPing(dst []byte) []byte {
	dst, at := beginFrame(dst, TypePing)
	return endFrame(dst, at)
}

// Hello is the worker's first frame on a link.
type Hello struct {
	Index int
	// Epoch and LastSeq name the last event received over a previous link ("" and 0 for none):
	// the parent resumes from LastSeq+1 when it still holds those events and has the same epoch.
	Epoch   string
	LastSeq uint64
}

// AppendHello appends a HELLO frame.
func AppendHello(dst []byte, h Hello) []byte {
	dst, at := beginFrame(dst, TypeHello)
	dst = binary.AppendUvarint(dst, uint64(h.Index))
	dst = appendString(dst, h.Epoch)
	dst = binary.AppendUvarint(dst, h.LastSeq)
	return endFrame(dst, at)
}

// AppendReady appends a READY frame for worker index.
func AppendReady(dst []byte, index int) []byte {
	dst, at := beginFrame(dst, TypeReady)
	dst = binary.AppendUvarint(dst, uint64(index))
	return endFrame(dst, at)
}

// Snapshot is the configuration a worker needs: tenants and stream documents.
type Snapshot struct {
	// Epoch identifies the parent process (event sequence numbers restart with it).
	Epoch   string
	Tenants []store.Tenant
	Core    []byte
	Configs map[string][]byte // by tenant URN
}

// AppendSnapshot appends a SNAPSHOT frame. Tenants travel as a JSON array.
func AppendSnapshot(dst []byte, s *Snapshot) ([]byte, error) {
	tj, err := json.Marshal(s.Tenants)
	if err != nil {
		return dst, fmt.Errorf("cluster: encode tenants: %w", err)
	}
	dst, at := beginFrame(dst, TypeSnapshot)
	dst = appendString(dst, s.Epoch)
	dst = appendBytes(dst, tj)
	dst = appendBytes(dst, s.Core)
	dst = binary.AppendUvarint(dst, uint64(len(s.Configs)))
	for urn, doc := range s.Configs {
		dst = appendString(dst, urn)
		dst = appendBytes(dst, doc)
	}
	return endFrame(dst, at), nil
}

// AppendEvent appends an EVENT frame: everything needed to rebuild ev exactly (the timestamp in
// UTC, without a monotonic reading).
func AppendEvent(dst []byte, seq uint64, ev *source.Event) []byte {
	dst, at := beginFrame(dst, TypeEvent)
	dst = binary.AppendUvarint(dst, seq)
	dst = appendString(dst, ev.ID)
	dst = appendString(dst, ev.TenantID)
	dst = appendString(dst, ev.Namespace)
	dst = appendString(dst, ev.Name)
	dst = appendString(dst, ev.CorrelationID)
	dst = binary.AppendVarint(dst, ev.Timestamp.Unix())
	dst = binary.AppendUvarint(dst, uint64(ev.Timestamp.Nanosecond()))
	dst = appendBytes(dst, ev.JSON)
	if ev.Traceparent != "" || ev.Origin != "" { // trailing fields: a frame without them still parses
		dst = appendString(dst, ev.Traceparent)
		if ev.Origin != "" {
			dst = appendString(dst, ev.Origin)
		}
	}
	return endFrame(dst, at)
}

// AppendOrder appends an ORDER frame carrying an operator order's JSON.
func AppendOrder(dst []byte, order []byte) []byte {
	dst, at := beginFrame(dst, TypeOrder)
	dst = append(dst, order...)
	return endFrame(dst, at)
}

// decoder reads fields from a payload; the first failure sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrMalformed
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrMalformed
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a copy (payloads alias reused read buffers).
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = ErrMalformed
		return nil
	}
	out := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return out
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = ErrMalformed
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrMalformed
	}
	return d.err
}

// ParseHello decodes a HELLO payload.
func ParseHello(p []byte) (Hello, error) {
	d := decoder{b: p}
	h := Hello{Index: int(d.uvarint()), Epoch: d.string(), LastSeq: d.uvarint()}
	if h.Index < 0 || h.Index > 1<<16 {
		d.err = ErrMalformed
	}
	return h, d.done()
}

// ParseReady decodes a READY payload.
func ParseReady(p []byte) (int, error) {
	d := decoder{b: p}
	i := d.uvarint()
	if i > 1<<16 {
		d.err = ErrMalformed
	}
	return int(i), d.done()
}

// ParseSnapshot decodes a SNAPSHOT payload; the result shares nothing with p.
func ParseSnapshot(p []byte) (*Snapshot, error) {
	d := decoder{b: p}
	s := &Snapshot{Epoch: d.string()}
	tj := d.bytes()
	s.Core = d.bytes()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) { // each entry takes at least two bytes
		d.err = ErrMalformed
	}
	s.Configs = make(map[string][]byte, min(n, 1024))
	for i := uint64(0); i < n && d.err == nil; i++ {
		urn := d.string()
		s.Configs[urn] = d.bytes()
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(tj, &s.Tenants); err != nil {
		return nil, fmt.Errorf("%w: tenants: %w", ErrMalformed, err)
	}
	return s, nil
}

// ParseEvent decodes an EVENT payload into its sequence number and a fresh event.
func ParseEvent(p []byte) (uint64, *source.Event, error) {
	d := decoder{b: p}
	seq := d.uvarint()
	ev := &source.Event{
		ID: d.string(), TenantID: d.string(), Namespace: d.string(), Name: d.string(), CorrelationID: d.string(),
	}
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= uint64(time.Second) {
		d.err = ErrMalformed
	}
	ev.Timestamp = time.Unix(sec, int64(nsec)).UTC()
	ev.JSON = d.bytes()
	if d.err == nil && len(d.b) > 0 {
		ev.Traceparent = d.string()
	}
	if d.err == nil && len(d.b) > 0 {
		ev.Origin = d.string()
	}
	if err := d.done(); err != nil {
		return 0, nil, err
	}
	return seq, ev, nil
}

// backlogFrame turns an EVENT frame into the BACKLOG frame with the same payload.
func backlogFrame(event []byte) []byte {
	f := append([]byte(nil), event...)
	f[4] = TypeBacklog
	return f
}
