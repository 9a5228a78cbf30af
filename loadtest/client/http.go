package client

import (
	"bytes"
	"fmt"
	"strconv"
)

const maxHead = 16 << 10

// head is a parsed HTTP/1.1 response head.
type head struct {
	status        int
	contentLength int64 // -1 when absent
	chunked       bool
	contentType   string
	accept        string // Sec-WebSocket-Accept
}

// parseHead parses a response head at the start of b. n is 0 while the head
// is incomplete.
func parseHead(b []byte) (h head, n int, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > maxHead {
			return h, 0, fmt.Errorf("%w: response head over %d bytes", ErrProtocol, maxHead)
		}
		return h, 0, nil
	}
	lines := bytes.Split(b[:end], []byte("\r\n"))
	status := lines[0]
	if !bytes.HasPrefix(status, []byte("HTTP/1.")) || len(status) < 12 {
		return h, 0, fmt.Errorf("%w: bad status line %q", ErrProtocol, status)
	}
	h.status, err = strconv.Atoi(string(status[9:12]))
	if err != nil {
		return h, 0, fmt.Errorf("%w: bad status line %q", ErrProtocol, status)
	}
	h.contentLength = -1
	for _, l := range lines[1:] {
		i := bytes.IndexByte(l, ':')
		if i < 0 {
			continue
		}
		name, val := l[:i], bytes.TrimSpace(l[i+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			h.contentLength, err = strconv.ParseInt(string(val), 10, 64)
			if err != nil || h.contentLength < 0 {
				return h, 0, fmt.Errorf("%w: bad Content-Length %q", ErrProtocol, val)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = bytes.Contains(bytes.ToLower(val), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Content-Type")):
			h.contentType = string(val)
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			h.accept = string(val)
		}
	}
	return h, end + 4, nil
}

// appendGet appends a GET request.
func appendGet(out []byte, cfg *Config, target, extra string) []byte {
	out = append(out, "GET "...)
	out = append(out, target...)
	out = append(out, " HTTP/1.1\r\nHost: "...)
	out = append(out, cfg.Host...)
	out = append(out, "\r\n"...)
	out = append(out, extra...)
	out = append(out, cfg.Header...)
	return append(out, "\r\n"...)
}

// appendPost appends a POST request with a text body.
func appendPost(out []byte, cfg *Config, target string, body []byte) []byte {
	out = append(out, "POST "...)
	out = append(out, target...)
	out = append(out, " HTTP/1.1\r\nHost: "...)
	out = append(out, cfg.Host...)
	out = append(out, "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n"...)
	out = append(out, cfg.Header...)
	out = append(out, "\r\n"...)
	return append(out, body...)
}

// snippet shortens a body for an error message.
func snippet(b []byte) string {
	if len(b) > 120 {
		b = b[:120]
	}
	return strconv.Quote(string(b))
}

// dechunk decodes a chunked transfer-encoded body incrementally.
type dechunk struct {
	line   []byte // partial size line
	remain int64  // data bytes left in the current chunk
	crlf   int    // CRLF bytes still to skip after a chunk's data
	done   bool   // the last (zero) chunk was seen
}

// feed passes the data bytes found in in to fn.
func (d *dechunk) feed(in []byte, fn func([]byte) error) error {
	for len(in) > 0 && !d.done {
		switch {
		case d.crlf > 0:
			in = in[1:]
			d.crlf--
		case d.remain > 0:
			n := int64(len(in))
			if n > d.remain {
				n = d.remain
			}
			if err := fn(in[:n]); err != nil {
				return err
			}
			in = in[n:]
			d.remain -= n
			if d.remain == 0 {
				d.crlf = 2
			}
		default:
			i := bytes.IndexByte(in, '\n')
			if i < 0 {
				d.line = append(d.line, in...)
				if len(d.line) > 1024 {
					return fmt.Errorf("%w: chunk size line too long", ErrProtocol)
				}
				return nil
			}
			d.line = append(d.line, in[:i]...)
			in = in[i+1:]
			l := bytes.TrimSpace(d.line)
			if j := bytes.IndexByte(l, ';'); j >= 0 {
				l = l[:j]
			}
			size, err := strconv.ParseInt(string(l), 16, 64)
			if err != nil || size < 0 {
				return fmt.Errorf("%w: bad chunk size %q", ErrProtocol, d.line)
			}
			d.line = d.line[:0]
			if size == 0 {
				d.done = true
				return nil
			}
			d.remain = size
		}
	}
	return nil
}
