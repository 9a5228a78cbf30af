package stream

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small JSON scanner over []byte used on the hot path (event matching and
// projection). It never allocates on the common paths, never panics on malformed input (it reports
// "not found" instead) and does not validate: callers that need validation (documents, subscriber
// criteria) run json.Valid first. Event JSON comes from the sources' canonical encoder.

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString expects b[i] == '"' and returns the index just after the closing quote.
func skipString(b []byte, i int) (int, bool) {
	start := i + 1
	i = start
	for i <= len(b) {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, false
		}
		i += j
		n := 0 // backslashes immediately before the quote
		for k := i - 1; k >= start && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i + 1, true
		}
		i++
	}
	return 0, false
}

// skipValue returns the end index of the value starting at b[i] (i must point at its first byte).
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				var ok bool
				if i, ok = skipString(b, i); !ok {
					return 0, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	case '}', ']', ',', ':':
		return 0, false
	default:
		start := i
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
				if i == start {
					return 0, false
				}
				return i, true
			}
			i++
		}
		return i, i > start
	}
}

// eachMember calls fn for every member of the object starting at b[i] ('{'), in document order,
// with the raw key (without quotes, escapes not decoded) and the value bounds. It stops early when
// fn returns false. It reports false for malformed input.
func eachMember(b []byte, i int, fn func(rawKey []byte, vs, ve int) bool) bool {
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		ke, ok := skipString(b, i)
		if !ok {
			return false
		}
		rawKey := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		vs := skipWS(b, i+1)
		ve, ok := skipValue(b, vs)
		if !ok {
			return false
		}
		if !fn(rawKey, vs, ve) {
			return true
		}
		i = skipWS(b, ve)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
	return false
}

// objectGet finds key in the object starting at b[i] and returns the bounds of its value. Like
// JSON.parse, the last occurrence of a duplicated key wins.
func objectGet(b []byte, i int, key string) (vs, ve int, found bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, 0, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return 0, 0, false
	}
	for i < len(b) {
		if b[i] != '"' {
			return 0, 0, false
		}
		ke, ok := skipString(b, i)
		if !ok {
			return 0, 0, false
		}
		rawKey := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, 0, false
		}
		s := skipWS(b, i+1)
		e, ok := skipValue(b, s)
		if !ok {
			return 0, 0, false
		}
		if rawStringEquals(rawKey, key) {
			vs, ve, found = s, e, true
		}
		i = skipWS(b, e)
		if i >= len(b) {
			return 0, 0, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return vs, ve, found
		default:
			return 0, 0, false
		}
	}
	return 0, 0, false
}

// arrayIndex returns the bounds of element idx of the array starting at b[i] ('[').
func arrayIndex(b []byte, i, idx int) (vs, ve int, ok bool) {
	if i >= len(b) || b[i] != '[' || idx < 0 {
		return 0, 0, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return 0, 0, false
	}
	for n := 0; i < len(b); n++ {
		e, ok := skipValue(b, i)
		if !ok {
			return 0, 0, false
		}
		if n == idx {
			return i, e, true
		}
		i = skipWS(b, e)
		if i >= len(b) || b[i] != ',' {
			return 0, 0, false
		}
		i = skipWS(b, i+1)
	}
	return 0, 0, false
}

// rawStringEquals reports whether the raw JSON string content raw (between the quotes) decodes to s.
func rawStringEquals(raw []byte, s string) bool {
	if len(raw) == len(s) && string(raw) == s {
		return true
	}
	hasEscape := false
	for _, c := range raw {
		if c == '\\' {
			hasEscape = true
			break
		}
	}
	if !hasEscape {
		return false
	}
	var scratch [128]byte
	d, ok := unescape(scratch[:0], raw)
	return ok && string(d) == s
}

// unescape appends the decoded form of the raw JSON string content to dst.
func unescape(dst, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(raw) {
			return dst, false
		}
		switch raw[i] {
		case '"', '\\', '/':
			dst = append(dst, raw[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw, i+1)
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok2 := hex4(raw, i+3); ok2 && i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, dec)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// parseNumber parses a raw JSON number like JavaScript would (out-of-range values become ±Inf or 0).
func parseNumber(raw []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}
