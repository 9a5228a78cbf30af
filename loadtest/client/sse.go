package client

import (
	"fmt"
	"strings"

	"github.com/pushgate/pushgate/protocol/sse"
)

// sseMachine is KindSSE: one GET, then a text/event-stream body (raw until
// close, or chunked).
type sseMachine struct {
	cfg    *Config
	sink   Sink
	st     State
	acc    []byte
	inBody bool
	chunk  *dechunk
	parser sse.Parser
	now    int64
	Resets int64 // "reset" events (history gaps)
}

func newSSE(cfg *Config, sink Sink) *sseMachine {
	m := &sseMachine{cfg: cfg, sink: sink}
	m.parser.MaxEventBytes = int(cfg.maxMessage())
	return m
}

func (m *sseMachine) State() *State { return &m.st }

func (m *sseMachine) Begin(now int64, out []byte) []byte {
	return appendGet(out, m.cfg, m.cfg.SSEPath, "Accept: text/event-stream\r\nCache-Control: no-cache\r\n")
}

func (m *sseMachine) Feed(now int64, in []byte, out []byte) ([]byte, Next, error) {
	m.now = now
	if !m.inBody {
		m.acc = append(m.acc, in...)
		h, n, err := parseHead(m.acc)
		if err != nil || n == 0 {
			return out, next(err), err
		}
		if h.status != 200 || !strings.HasPrefix(h.contentType, "text/event-stream") {
			return out, Close, fmt.Errorf("%w: SSE answered %d %q %s", ErrRefused, h.status, h.contentType, snippet(m.acc[n:]))
		}
		if h.chunked {
			m.chunk = &dechunk{}
		}
		m.inBody = true
		m.st.ready(now)
		in = append([]byte{}, m.acc[n:]...)
		m.acc = nil
	}
	var err error
	if m.chunk != nil {
		err = m.chunk.feed(in, m.body)
		if err == nil && m.chunk.done {
			err = fmt.Errorf("%w: SSE body ended", ErrClosed)
		}
	} else {
		err = m.body(in)
	}
	return out, next(err), err
}

func (m *sseMachine) body(b []byte) error {
	var closeErr error
	err := m.parser.Feed(b, func(ev sse.Event) {
		switch ev.Type {
		case "close":
			m.st.Reason = string(ev.Data)
			closeErr = fmt.Errorf("%w: SSE close event %s", ErrClosed, snippet(ev.Data))
		case "reset":
			m.Resets++
		default:
			m.st.record(m.sink, m.now, ev.Data)
		}
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return closeErr
}
