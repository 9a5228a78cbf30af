package sse

import (
	"bytes"
	"errors"
	"time"
)

// ErrTooLong is returned by Parser.Feed when an event exceeds MaxEventBytes.
var ErrTooLong = errors.New("sse: event too long")

// Event is one dispatched event.
type Event struct {
	// ID is the last event id seen on the stream (it persists across events).
	ID string
	// Type is the event field, "" when absent (browsers then use "message").
	Type string
	// Data is the data lines joined with "\n"; valid only during the callback.
	Data []byte
}

// Parser is an incremental text/event-stream parser. The zero value is ready.
type Parser struct {
	// MaxEventBytes bounds the bytes buffered for one line plus the data of
	// one event; zero means no limit.
	MaxEventBytes int

	line    []byte // partial line carried between Feed calls
	data    []byte
	hasData bool
	typ     string
	id      string
	retry   time.Duration
	skipLF  bool // last chunk ended with CR: drop a leading LF
	started bool // BOM check done
}

// LastEventID returns the stream's last event id (for Last-Event-ID).
func (p *Parser) LastEventID() string { return p.id }

// Retry returns the last retry value received, 0 when none.
func (p *Parser) Retry() time.Duration { return p.retry }

// Feed parses the next chunk of the stream and calls fn for every event
// completed by it. It only fails with ErrTooLong, after which the Parser
// should be discarded.
func (p *Parser) Feed(b []byte, fn func(Event)) error {
	if !p.started {
		// The BOM may itself be split across chunks.
		pending := append(p.line, b...)
		if len(pending) < 3 && bytes.HasPrefix([]byte("\xef\xbb\xbf"), pending) {
			p.line = pending
			return nil
		}
		p.started = true
		p.line = nil // pending may share its array
		b = bytes.TrimPrefix(pending, []byte("\xef\xbb\xbf"))
	}
	if p.skipLF && len(b) > 0 {
		if b[0] == '\n' {
			b = b[1:]
		}
		p.skipLF = false
	}
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			p.line = append(p.line, b...)
			return p.checkSize()
		}
		var line []byte
		if len(p.line) > 0 {
			p.line = append(p.line, b[:i]...)
			line = p.line
		} else {
			line = b[:i]
		}
		if b[i] == '\r' {
			if i+1 == len(b) {
				p.skipLF = true
			} else if b[i+1] == '\n' {
				i++
			}
		}
		b = b[i+1:]
		p.processLine(line, fn)
		p.line = p.line[:0]
		if err := p.checkSize(); err != nil {
			return err
		}
	}
	return nil
}

func (p *Parser) checkSize() error {
	if p.MaxEventBytes > 0 && len(p.line)+len(p.data) > p.MaxEventBytes {
		return ErrTooLong
	}
	return nil
}

func (p *Parser) processLine(line []byte, fn func(Event)) {
	if len(line) == 0 {
		if p.hasData {
			fn(Event{ID: p.id, Type: p.typ, Data: p.data})
		}
		p.data, p.hasData, p.typ = p.data[:0], false, ""
		return
	}
	if line[0] == ':' {
		return
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		if p.hasData {
			p.data = append(p.data, '\n')
		}
		p.data = append(p.data, value...)
		p.hasData = true
	case "event":
		p.typ = string(value)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.id = string(value)
		}
	case "retry":
		if ms, ok := parseDigits(value); ok {
			p.retry = time.Duration(ms) * time.Millisecond
		}
	}
}

func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
