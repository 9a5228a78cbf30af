package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Limits applied by ParseCriteria to subscriber criteria.
const (
	MaxCriteriaBytes = 4 << 10
	MaxCriteriaDepth = 8
	MaxCriteriaKeys  = 64
)

// ErrInvalidCriteria is wrapped by every ParseCriteria error.
var ErrInvalidCriteria = errors.New("stream: invalid criteria")

// Criteria is a compiled EventCriteria ({"correlationId": "…", "context": {…}}), as given by a
// subscriber (the criteria query parameter / CONNECT auth field) or configured on a stream event.
// A nil *Criteria matches everything. Criteria are immutable and safe for concurrent use.
type Criteria struct {
	correlationID string // "" = no constraint
	context       []cond
}

type condKind uint8

const (
	condString condKind = iota
	condNumber
	condBool
	condNull
)

type cond struct {
	key  string
	kind condKind
	str  string  // condString
	num  float64 // condNumber
	b    bool    // condBool
}

// ParseCriteria compiles subscriber criteria. Empty input (or only whitespace) yields nil, which
// matches everything. The input must be a JSON object of at most MaxCriteriaBytes bytes, nesting
// depth MaxCriteriaDepth and MaxCriteriaKeys keys in total; "correlationId" must be a string (or
// null) and "context" an object (or null) whose values are strings, numbers, booleans or null.
// Other keys are ignored, as in ADSP.
func ParseCriteria(b []byte) (*Criteria, error) {
	if len(b) > MaxCriteriaBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidCriteria, MaxCriteriaBytes)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidCriteria)
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("%w: must be a JSON object", ErrInvalidCriteria)
	}
	depth, keys := shape(b)
	if depth > MaxCriteriaDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d levels", ErrInvalidCriteria, MaxCriteriaDepth)
	}
	if keys > MaxCriteriaKeys {
		return nil, fmt.Errorf("%w: more than %d keys", ErrInvalidCriteria, MaxCriteriaKeys)
	}
	c, err := compileCriteria(b, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCriteria, err)
	}
	return c, nil
}

// shape returns the maximum nesting depth and the number of object keys of valid JSON b.
func shape(b []byte) (depth, keys int) {
	d := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			e, ok := skipString(b, i)
			if !ok {
				return depth, keys
			}
			i = e - 1
		case '{', '[':
			d++
			depth = max(depth, d)
		case '}', ']':
			d--
		case ':':
			keys++
		}
	}
	return depth, keys
}

// compileCriteria compiles a valid JSON object of criteria; where prefixes error messages.
func compileCriteria(b []byte, where string) (*Criteria, error) {
	c := &Criteria{}
	var err error
	ok := eachMember(b, skipWS(b, 0), func(rawKey []byte, vs, ve int) bool {
		key, kerr := decodeKey(rawKey)
		if kerr != nil {
			err = kerr
			return false
		}
		v := b[vs:ve]
		switch key {
		case "correlationId":
			switch v[0] {
			case 'n':
				c.correlationID = ""
			case '"':
				c.correlationID, err = decodeString(v)
			default:
				err = fmt.Errorf("%scorrelationId must be a string", where)
			}
		case "context":
			c.context, err = compileContext(v, where)
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%scriteria must be a JSON object", where)
	}
	return c, nil
}

func compileContext(v []byte, where string) ([]cond, error) {
	if v[0] == 'n' {
		return nil, nil
	}
	if v[0] != '{' {
		return nil, fmt.Errorf("%scontext must be an object", where)
	}
	var conds []cond
	var err error
	eachMember(v, 0, func(rawKey []byte, vs, ve int) bool {
		var k string
		if k, err = decodeKey(rawKey); err != nil {
			return false
		}
		cv := v[vs:ve]
		cd := cond{key: k}
		switch cv[0] {
		case '"':
			cd.kind = condString
			cd.str, err = decodeString(cv)
		case 't', 'f':
			cd.kind, cd.b = condBool, cv[0] == 't'
		case 'n':
			cd.kind = condNull
		case '{', '[':
			err = fmt.Errorf("%scontext.%s must be a string, number or boolean", where, k)
		default:
			cd.kind = condNumber
			var okNum bool
			if cd.num, okNum = parseNumber(cv); !okNum {
				err = fmt.Errorf("%scontext.%s is not a valid number", where, k)
			}
		}
		if err != nil {
			return false
		}
		// Like JSON.parse, a repeated key keeps its first position and its last value.
		for i := range conds {
			if conds[i].key == k {
				conds[i] = cd
				return true
			}
		}
		conds = append(conds, cd)
		return true
	})
	return conds, err
}

func decodeKey(raw []byte) (string, error) {
	d, ok := unescape(nil, raw)
	if !ok {
		return "", errors.New("invalid string escape")
	}
	return string(d), nil
}

func decodeString(quoted []byte) (string, error) {
	if len(quoted) < 2 {
		return "", errors.New("invalid string")
	}
	return decodeKey(quoted[1 : len(quoted)-1])
}

// Match reports whether the (projected) item satisfies the criteria, with ADSP isMatch semantics:
// a non-empty correlationId must equal the item's correlationId; every context entry must be
// strictly equal (type and value, as JavaScript ===) to the item's context entry. A nil receiver
// matches everything.
func (c *Criteria) Match(item []byte) bool {
	if c == nil {
		return true
	}
	top := skipWS(item, 0)
	if c.correlationID != "" {
		vs, ve, ok := objectGet(item, top, "correlationId")
		if !ok || !valueEqualsString(item[vs:ve], c.correlationID) {
			return false
		}
	}
	if len(c.context) == 0 {
		return true
	}
	vs, _, ok := objectGet(item, top, "context")
	if !ok {
		return false
	}
	return c.matchContext(item, vs)
}

// matchContext evaluates the context conditions against the context value starting at b[i].
func (c *Criteria) matchContext(b []byte, i int) bool {
	if i >= len(b) || (b[i] != '{' && b[i] != '[') {
		return false
	}
	for k := range c.context {
		cd := &c.context[k]
		var vs, ve int
		var ok bool
		if b[i] == '{' {
			vs, ve, ok = objectGet(b, i, cd.key)
		} else {
			vs, ve, ok = arrayIndex(b, i, arrayIndexOf(cd.key))
		}
		if !ok || !cd.equals(b[vs:ve]) {
			return false
		}
	}
	return true
}

func (cd *cond) equals(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	switch cd.kind {
	case condString:
		return valueEqualsString(v, cd.str)
	case condBool:
		return (cd.b && string(v) == "true") || (!cd.b && string(v) == "false")
	case condNull:
		return string(v) == "null"
	default:
		if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
			return false
		}
		f, ok := parseNumber(v)
		return ok && f == cd.num
	}
}

// valueEqualsString reports whether the raw JSON value v is a string equal to s.
func valueEqualsString(v []byte, s string) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	return rawStringEquals(v[1:len(v)-1], s)
}
