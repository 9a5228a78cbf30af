package socketio

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small allocation-free JSON validator. It accepts exactly
// what encoding/json.Valid accepts (checked by FuzzValidJSON) and, while
// walking, can check Socket.IO binary placeholders. Hand-written rather than
// json.Valid because Decode needs the value kinds (object, array, first
// element) and placeholder objects in the same single pass.

const maxDepth = 10000 // same nesting limit as encoding/json

type kind byte

const (
	kindInvalid kind = iota
	kindObject
	kindArray
	kindString
	kindNumber
	kindLiteral // true, false, null
)

// scanner walks one JSON text. attachments < 0 disables placeholder checks.
type scanner struct {
	data        []byte
	attachments int
	badPlace    bool // a placeholder with a bad num was seen
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// value scans the value starting at b[i] (no leading space) and returns the
// index after it, or -1.
func (s *scanner) value(i, depth int) (int, kind) {
	b := s.data
	if i >= len(b) {
		return -1, kindInvalid
	}
	switch c := b[i]; {
	case c == '{':
		if depth >= maxDepth {
			return -1, kindInvalid
		}
		return s.object(i+1, depth+1), kindObject
	case c == '[':
		if depth >= maxDepth {
			return -1, kindInvalid
		}
		return s.array(i+1, depth+1), kindArray
	case c == '"':
		return scanString(b, i), kindString
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i), kindNumber
	case c == 't':
		return literal(b, i, "true"), kindLiteral
	case c == 'f':
		return literal(b, i, "false"), kindLiteral
	case c == 'n':
		return literal(b, i, "null"), kindLiteral
	}
	return -1, kindInvalid
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

func (s *scanner) array(i, depth int) int {
	b := s.data
	i = skipSpace(b, i)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		var k kind
		i, k = s.value(i, depth)
		if i < 0 || k == kindInvalid {
			return -1
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case ']':
			return i + 1
		case ',':
			i = skipSpace(b, i+1)
		default:
			return -1
		}
	}
}

func (s *scanner) object(start, depth int) int {
	b := s.data
	i := skipSpace(b, start)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	check := s.attachments >= 0
	placeholder := false
	var num []byte
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		kEnd := scanString(b, i)
		if kEnd < 0 {
			return -1
		}
		key := b[i:kEnd]
		i = skipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		vStart := skipSpace(b, i+1)
		vEnd, k := s.value(vStart, depth)
		if vEnd < 0 || k == kindInvalid {
			return -1
		}
		if check {
			// Later keys win, as with JSON.parse.
			if stringEquals(key, "_placeholder") {
				placeholder = string(b[vStart:vEnd]) == "true"
			} else if stringEquals(key, "num") {
				num = nil
				if k == kindNumber {
					num = b[vStart:vEnd]
				}
			}
		}
		i = skipSpace(b, vEnd)
		if i >= len(b) {
			return -1
		}
		switch b[i] {
		case '}':
			if placeholder && !validNum(num, s.attachments) {
				s.badPlace = true
			}
			return i + 1
		case ',':
			i = skipSpace(b, i+1)
		default:
			return -1
		}
	}
}

// validNum reports whether num is a plain non-negative integer below n.
func validNum(num []byte, n int) bool {
	if len(num) == 0 || len(num) > 9 {
		return false
	}
	v := 0
	for _, c := range num {
		if c < '0' || c > '9' {
			return false
		}
		v = v*10 + int(c-'0')
	}
	return v < n
}

// scanString scans the string literal at b[i]=='"'.
func scanString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if unhex(h) < 0 {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return -1
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// validJSON reports whether b is one valid JSON value with optional
// surrounding whitespace, and returns its kind.
func validJSON(b []byte, attachments int) (kind, bool) {
	s := scanner{data: b, attachments: attachments}
	i := skipSpace(b, 0)
	end, k := s.value(i, 0)
	if end < 0 || skipSpace(b, end) != len(b) {
		return kindInvalid, false
	}
	return k, !s.badPlace
}

// stringEquals reports whether the valid JSON string literal raw decodes to
// the ASCII string want, without allocating.
func stringEquals(raw []byte, want string) bool {
	j := 0
	for i := 1; i < len(raw)-1; i++ {
		c := raw[i]
		if c == '\\' {
			i++
			switch raw[i] {
			case 'u':
				v := unhex(raw[i+1])<<12 | unhex(raw[i+2])<<8 | unhex(raw[i+3])<<4 | unhex(raw[i+4])
				if v >= utf8.RuneSelf {
					return false
				}
				c = byte(v)
				i += 4
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			default:
				c = raw[i]
			}
		}
		if j >= len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}

// unquote decodes the valid JSON string literal raw like encoding/json
// (lone surrogates become U+FFFD).
func unquote(raw []byte) string {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body)
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(body[i:])
			out = utf8.AppendRune(out, r) // invalid bytes become U+FFFD
			i += size - 1
			continue
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch body[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(body[i+1:])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(body) && body[i+1] == '\\' && body[i+2] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(body[i+3:])); r2 != utf8.RuneError {
						out = utf8.AppendRune(out, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, body[i])
		}
	}
	return string(out)
}

func hex4(b []byte) rune {
	return rune(unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3]))
}
