package stream

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/bytedance/sonic"
)

// jsonAPI encodes like encoding/json (sorted map keys, string validation) but without HTML escaping,
// so output matches JavaScript's JSON.stringify for the strings we encode.
var jsonAPI = sonic.Config{
	SortMapKeys:      true,
	CompactMarshaler: true,
	ValidateString:   true,
	EscapeHTML:       false,
}.Froze()

// Limits on a configured map.
const (
	maxMapKeys = 256
)

// baseKeys are the fields every mapped item starts with (ADSP StreamEntity), in this order.
var baseKeys = [...]string{"tenantId", "namespace", "name", "correlationId", "context"}

// projection is a compiled map: the output members in their final order. Each slot's value is
// resolved from the event JSON; a slot whose path does not resolve is omitted.
type projection struct {
	slots  []slot
	firsts []string // distinct first path segments, resolved in one pass over the event
}

type slot struct {
	prefix []byte // `"key":`
	path   path
	first  int // index into projection.firsts
}

type mapMember struct {
	key, path string
}

// compileProjection compiles the value of a "map" field. An empty object yields nil (no map:
// contract.md treats `map: {}` as no projection).
//
// The output order reproduces JavaScript object key order for the ADSP item
// {tenantId, namespace, name, correlationId, context, ...map}: integer-like keys first in ascending
// order, then the five base keys (a map key with a base name replaces the base value in place), then
// the other map keys in map order. A key repeated in the map keeps its first position and last path.
func compileProjection(raw []byte) (*projection, error) {
	if raw[0] != '{' {
		return nil, errors.New("map: must be an object")
	}
	var members []mapMember
	var err error
	eachMember(raw, 0, func(rawKey []byte, vs, ve int) bool {
		var k, p string
		if k, err = decodeKey(rawKey); err != nil {
			return false
		}
		v := raw[vs:ve]
		if v[0] != '"' {
			err = fmt.Errorf("map.%s: must be a string path", k)
			return false
		}
		if p, err = decodeString(v); err != nil {
			return false
		}
		if len(p) > maxPathLen {
			err = fmt.Errorf("map.%s: path longer than %d bytes", k, maxPathLen)
			return false
		}
		if i := slices.IndexFunc(members, func(m mapMember) bool { return m.key == k }); i >= 0 {
			members[i].path = p
			return true
		}
		members = append(members, mapMember{k, p})
		return len(members) <= maxMapKeys
	})
	if err != nil {
		return nil, err
	}
	if len(members) > maxMapKeys {
		return nil, fmt.Errorf("map: more than %d keys", maxMapKeys)
	}
	if len(members) == 0 {
		return nil, nil
	}
	return newProjection(members)
}

func newProjection(members []mapMember) (*projection, error) {
	var ints, rest []mapMember
	base := make([]mapMember, len(baseKeys))
	for i, k := range baseKeys {
		base[i] = mapMember{k, k}
	}
	for _, m := range members {
		if i := slices.Index(baseKeys[:], m.key); i >= 0 {
			base[i].path = m.path
		} else if isIntegerKey(m.key) {
			ints = append(ints, m)
		} else {
			rest = append(rest, m)
		}
	}
	slices.SortStableFunc(ints, func(a, b mapMember) int {
		x, _ := strconv.ParseUint(a.key, 10, 64)
		y, _ := strconv.ParseUint(b.key, 10, 64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	p := &projection{}
	for _, m := range slices.Concat(ints, base, rest) {
		q, err := jsonAPI.Marshal(m.key)
		if err != nil {
			return nil, fmt.Errorf("map.%s: %w", m.key, err)
		}
		s := slot{prefix: append(q, ':'), path: compilePath(m.path), first: -1}
		if len(s.path.segs) > 0 {
			first := s.path.segs[0].key
			s.first = slices.Index(p.firsts, first)
			if s.first < 0 {
				s.first = len(p.firsts)
				p.firsts = append(p.firsts, first)
			}
		}
		p.slots = append(p.slots, s)
	}
	return p, nil
}

// isIntegerKey reports whether JavaScript treats k as an array index (ordered first in objects).
func isIntegerKey(k string) bool {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return false
	}
	n, err := strconv.ParseUint(k, 10, 64)
	return err == nil && n < 1<<32-1
}

const stackSlots = 16

// project builds the mapped item for the event JSON src. The result is a fresh slice, allocated once.
func (p *projection) project(src []byte) []byte {
	var firstBuf [stackSlots][2]int
	var fragBuf [stackSlots][2]int
	firsts := firstBuf[:0]
	if len(p.firsts) > stackSlots {
		firsts = make([][2]int, 0, len(p.firsts))
	}
	frags := fragBuf[:0]
	if len(p.slots) > stackSlots {
		frags = make([][2]int, 0, len(p.slots))
	}
	for range p.firsts {
		firsts = append(firsts, [2]int{-1, -1})
	}
	top := skipWS(src, 0)
	eachMember(src, top, func(rawKey []byte, vs, ve int) bool {
		for i, k := range p.firsts {
			if rawStringEquals(rawKey, k) {
				firsts[i] = [2]int{vs, ve} // last occurrence wins
			}
		}
		return true
	})
	size := 2
	for _, s := range p.slots {
		f := [2]int{-1, -1}
		if s.first >= 0 && firsts[s.first][0] >= 0 {
			start := firsts[s.first]
			if len(s.path.segs) == 1 {
				f = start
			} else if vs, ve, ok := (path{segs: s.path.segs[1:]}).resolve(src[:start[1]][start[0]:]); ok {
				f = [2]int{start[0] + vs, start[0] + ve}
			}
		}
		frags = append(frags, f)
		if f[0] >= 0 {
			size += len(s.prefix) + f[1] - f[0] + 1
		}
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, s := range p.slots {
		f := frags[i]
		if f[0] < 0 {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, s.prefix...)
		out = append(out, src[f[0]:f[1]]...)
	}
	return append(out, '}')
}
