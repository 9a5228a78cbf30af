package sse

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadField reports an id or event name containing CR, LF or NUL.
var ErrBadField = errors.New("sse: id or event contains CR, LF or NUL")

// ValidID reports whether s can be written as an id or event field value:
// it contains no CR, LF or NUL.
func ValidID(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00")
}

// AppendEvent appends one event: "id: <id>\n" when id != "", "event:
// <event>\n" when event != "", one "data: <line>\n" per line of data (split
// at \n, \r\n and lone \r), then "\n". On ErrBadField dst is returned
// unchanged.
func AppendEvent(dst []byte, id, event string, data []byte) ([]byte, error) {
	if !ValidID(id) || !ValidID(event) {
		return dst, ErrBadField
	}
	if id != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data: ", data)
	return append(dst, '\n'), nil
}

// appendLines writes prefix+line+"\n" for every line of data.
func appendLines[T string | []byte](dst []byte, prefix string, data T) []byte {
	start := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c != '\n' && c != '\r' {
			continue
		}
		dst = append(dst, prefix...)
		dst = append(dst, data[start:i]...)
		dst = append(dst, '\n')
		if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		start = i + 1
	}
	dst = append(dst, prefix...)
	dst = append(dst, data[start:]...)
	return append(dst, '\n')
}

// AppendComment appends a comment block ": text\n\n" (clients ignore it; used
// as a heartbeat). A multi-line text becomes several comment lines.
func AppendComment(dst []byte, text string) []byte {
	dst = appendLines(dst, ": ", text)
	return append(dst, '\n')
}

// AppendRetry appends "retry: <ms>\n\n", the client's reconnection delay.
// Negative durations are written as 0.
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, max(d.Milliseconds(), 0), 10)
	return append(dst, '\n', '\n')
}
