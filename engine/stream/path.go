package stream

import (
	"strings"
)

// A path is a compiled lodash-style property path ("payload.items[0].id", "timestamp",
// `payload["a.b"]`), resolved against raw JSON without decoding it.
//
// Parsing follows lodash's castPath/stringToPath: a string without "." and without a bracket group
// is a single key; otherwise the path is split on "." and bracket groups ([0], ["quoted"],
// ['quoted']), with empty keys where lodash produces them ("a..b" is ["a", "", "b"]). A segment that
// is a canonical non-negative integer also indexes arrays. Differences from lodash, which reads
// JavaScript objects: strings and arrays have no "length" property here, and strings are not
// indexable.
type path struct {
	segs []seg
}

type seg struct {
	key string
	idx int // array index, or -1 when key is not a canonical array index
}

// maxPathLen bounds configured paths.
const maxPathLen = 512

func compilePath(s string) path {
	var keys []string
	if isDeepPath(s) {
		keys = splitPath(s)
	} else {
		keys = []string{s}
	}
	p := path{segs: make([]seg, len(keys))}
	for i, k := range keys {
		p.segs[i] = seg{key: k, idx: arrayIndexOf(k)}
	}
	return p
}

// resolve returns the bounds of the value the path designates in the JSON document b.
func (p path) resolve(b []byte) (vs, ve int, ok bool) {
	i := skipWS(b, 0)
	if len(p.segs) == 0 {
		return 0, 0, false
	}
	for _, s := range p.segs {
		if i >= len(b) {
			return 0, 0, false
		}
		switch b[i] {
		case '{':
			vs, ve, ok = objectGet(b, i, s.key)
		case '[':
			vs, ve, ok = arrayIndex(b, i, s.idx)
		default:
			return 0, 0, false
		}
		if !ok {
			return 0, 0, false
		}
		i = vs
	}
	return vs, ve, true
}

// arrayIndexOf returns the array index a key denotes (JavaScript canonical numeric string), or -1.
func arrayIndexOf(k string) int {
	if k == "" || len(k) > 9 || (len(k) > 1 && k[0] == '0') {
		return -1
	}
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// isDeepPath mirrors lodash's reIsDeepProp: a "." anywhere, or a bracket group.
func isDeepPath(s string) bool {
	if strings.IndexByte(s, '.') >= 0 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '[' {
			continue
		}
		// [^[\]]* then ]
		j := i + 1
		for j < len(s) && s[j] != '[' && s[j] != ']' {
			j++
		}
		if j < len(s) && s[j] == ']' {
			return true
		}
		if _, _, ok := quotedBracket(s, i); ok {
			return true
		}
	}
	return false
}

// splitPath mirrors lodash's stringToPath.
func splitPath(s string) []string {
	var out []string
	if strings.HasPrefix(s, ".") {
		out = append(out, "")
	}
	for p := 0; p < len(s); {
		c := s[p]
		if c != '.' && c != '[' && c != ']' {
			q := p
			for q < len(s) && s[q] != '.' && s[q] != '[' && s[q] != ']' {
				q++
			}
			out = append(out, s[p:q])
			p = q
			continue
		}
		if c == '[' {
			if key, next, ok := bracketKey(s, p); ok {
				out = append(out, key)
				p = next
				continue
			}
		}
		if emptyKeyAhead(s, p) {
			out = append(out, "")
		}
		p++
	}
	return out
}

// bracketKey matches \[(?:([^"'][^[]*)|(["'])((?:(?!\2)[^\\]|\\.)*?)\2)\] at s[p].
func bracketKey(s string, p int) (key string, next int, ok bool) {
	if p+1 >= len(s) {
		return "", 0, false
	}
	if c := s[p+1]; c != '"' && c != '\'' {
		j := len(s)
		if k := strings.IndexByte(s[p+2:], '['); k >= 0 {
			j = p + 2 + k
		}
		if k := strings.LastIndexByte(s[p+2:j], ']'); k >= 0 {
			end := p + 2 + k
			return strings.TrimSpace(s[p+1 : end]), end + 1, true
		}
		return "", 0, false
	}
	return quotedBracket(s, p)
}

// quotedBracket matches ["…"] or ['…'] at s[p]; escapes are resolved like lodash's reEscapeChar.
func quotedBracket(s string, p int) (key string, next int, ok bool) {
	if p+1 >= len(s) {
		return "", 0, false
	}
	q := s[p+1]
	if q != '"' && q != '\'' {
		return "", 0, false
	}
	var b strings.Builder
	for i := p + 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 >= len(s) {
				return "", 0, false
			}
			i++
			b.WriteByte(s[i])
		case c == q:
			if i+1 < len(s) && s[i+1] == ']' {
				return b.String(), i + 2, true
			}
			return "", 0, false
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// emptyKeyAhead matches the lookahead (?=(?:\.|\[\])(?:\.|\[\]|$)) at s[p].
func emptyKeyAhead(s string, p int) bool {
	step := func(i int) (int, bool) {
		if i < len(s) && s[i] == '.' {
			return i + 1, true
		}
		if i+1 < len(s) && s[i] == '[' && s[i+1] == ']' {
			return i + 2, true
		}
		return 0, false
	}
	i, ok := step(p)
	if !ok {
		return false
	}
	if i == len(s) {
		return true
	}
	_, ok = step(i)
	return ok
}
