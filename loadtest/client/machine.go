package client

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Kind selects the client protocol.
type Kind string

// The client kinds.
const (
	KindWS      Kind = "ws"      // Socket.IO over a WebSocket-only Engine.IO session
	KindUpgrade Kind = "upgrade" // Engine.IO polling first, then upgrade to WebSocket
	KindSSE     Kind = "sse"     // text/event-stream
)

// ParseKind validates a kind name.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindWS, KindUpgrade, KindSSE:
		return k, nil
	}
	return "", fmt.Errorf("unknown client kind %q (want ws, upgrade or sse)", s)
}

// Next tells the event loop what to do after Feed.
type Next int

// Feed outcomes.
const (
	Continue Next = iota // keep the connection
	Redial               // close this TCP connection, dial a new one and call Begin again
	Close                // close the connection; the machine is finished (see State)
)

// Machine is one simulated client.
type Machine interface {
	// Begin is called once the TCP connection is established; it appends the
	// first request to out.
	Begin(now int64, out []byte) []byte
	// Feed consumes bytes read from the connection (in is only valid during
	// the call) and appends replies to out.
	Feed(now int64, in []byte, out []byte) ([]byte, Next, error)
	// State exposes the bookkeeping shared by all kinds.
	State() *State
}

// Sink receives every timed delivery. A worker owns one; calls come from
// the worker's goroutine only.
type Sink interface {
	Delivered(now, sentAt int64, step int)
}

// Config is shared by every client of a run.
type Config struct {
	Host      string // Host header value, e.g. "127.0.0.1:8080"
	EIOPath   string // Engine.IO path, default "/socket.io/"
	Query     string // extra Engine.IO query, e.g. "stream=bench" (no leading &)
	Namespace string // Socket.IO namespace, e.g. "/demo"; "" means "/"
	Auth      []byte // CONNECT auth object, e.g. {"token":"…"}; nil sends none
	SSEPath   string // SSE request target, e.g. "/stream/v1/streams/bench?tenant=demo"
	Header    string // extra request header lines, each ending in "\r\n"
	// MaxMessage caps a WebSocket message or an HTTP body (default 16 MiB).
	MaxMessage int64
}

func (c *Config) maxMessage() int64 {
	if c.MaxMessage <= 0 {
		return 16 << 20
	}
	return c.MaxMessage
}

func (c *Config) namespace() string {
	if c.Namespace == "" {
		return "/"
	}
	return c.Namespace
}

func (c *Config) eioTarget(transport, sid string) string {
	p := c.EIOPath
	if p == "" {
		p = "/socket.io/"
	}
	var b strings.Builder
	b.WriteString(p)
	b.WriteString("?EIO=4&transport=")
	b.WriteString(transport)
	if sid != "" {
		b.WriteString("&sid=")
		b.WriteString(url.QueryEscape(sid))
	}
	if c.Query != "" {
		b.WriteByte('&')
		b.WriteString(c.Query)
	}
	return b.String()
}

// New returns a fresh machine of kind k. id is the client's index (it
// seeds the WebSocket key and mask).
func New(k Kind, cfg *Config, sink Sink, id uint64) (Machine, error) {
	switch k {
	case KindWS:
		return newWS(cfg, sink, id), nil
	case KindUpgrade:
		return newUpgrade(cfg, sink, id), nil
	case KindSSE:
		return newSSE(cfg, sink), nil
	}
	return nil, fmt.Errorf("unknown client kind %q", k)
}

// Errors a machine reports (wrapped with details).
var (
	ErrRefused  = errors.New("refused")        // CONNECT_ERROR or non-2xx/101 status
	ErrProtocol = errors.New("protocol error") // malformed bytes from the server
	ErrClosed   = errors.New("closed by server")
)
