package push

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/transport"
	"github.com/pushgate/pushgate/protocol/jsontext"
	"github.com/pushgate/pushgate/protocol/sse"
)

// SSEPrefix is the path prefix of the SSE route: GET /stream/v1/streams/:stream.
const SSEPrefix = "/stream/v1/streams/"

// SSEConfig tunes the SSE route. Zero values mean the defaults.
type SSEConfig struct {
	// Heartbeat is the interval of ": heartbeat" comments. Zero means 15s; negative disables.
	Heartbeat time.Duration
	// Retry is the reconnection delay sent once as "retry:". Zero means 3s.
	Retry time.Duration
	// CORS decides the Access-Control-* headers.
	CORS conn.CORS
	// MaxPerToken caps the open streams of one token subject (0 = no limit); above it: 429.
	MaxPerToken int
}

// SSE serves the Server-Sent Events route on the event loop.
type SSE struct {
	d    *Deps
	cfg  SSEConfig
	mu   sync.Mutex
	subs map[*sseSink]struct{}
	// perSubject counts open streams per token subject (MaxPerToken).
	perSubject map[string]int
	quit       chan struct{}
}

// NewSSE returns the SSE handler and starts its heartbeat.
func (d *Deps) NewSSE(cfg SSEConfig) *SSE {
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 3 * time.Second
	}
	s := &SSE{d: d, cfg: cfg, subs: make(map[*sseSink]struct{}), perSubject: make(map[string]int), quit: make(chan struct{})}
	if cfg.Heartbeat > 0 {
		go s.heartbeat()
	}
	return s
}

// Close stops the heartbeat.
func (s *SSE) Close() { close(s.quit) }

// Count returns the number of open SSE streams.
func (s *SSE) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

var heartbeatComment = sse.AppendComment(nil, "heartbeat")

// heartbeat writes one shared comment to every stream: it keeps proxies from closing idle
// streams and finds dead peers through the write timeout.
func (s *SSE) heartbeat() {
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		s.beat()
	}
}

// beat writes the heartbeat comment once to every open stream.
func (s *SSE) beat() {
	s.mu.Lock()
	sinks := make([]*sseSink, 0, len(s.subs))
	for k := range s.subs {
		sinks = append(sinks, k)
	}
	s.mu.Unlock()
	for _, k := range sinks {
		_ = k.link.Send(heartbeatComment)
	}
}

// ServeRequest implements conn.HTTPHandler.
func (s *SSE) ServeRequest(r *conn.Request, l conn.Link) conn.WSHandler {
	if r.Method == "OPTIONS" {
		s.cfg.CORS.Preflight(r, l)
		return nil
	}
	id, err := url.PathUnescape(strings.TrimPrefix(r.Path, SSEPrefix))
	if err != nil || id == "" || strings.Contains(id, "/") {
		s.fail(r, l, &Failure{"not_found", "stream with ID '" + id + "' could not be found."})
		return nil
	}
	req := request{tenantRef: r.Query.Get("tenant"), streamID: id}
	switch {
	case r.Authorization != "":
		req.token, req.hasToken = bearer(r.Authorization)
	case r.Query.Has("token"):
		req.token, req.hasToken = r.Query.Get("token"), true
	}
	if c := r.Query.Get("criteria"); c != "" {
		req.criteria = []byte(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), AuthTimeout)
	g, f := s.d.authorize(ctx, req)
	cancel()
	if f != nil {
		s.d.Stats.refused(TransportSSE, f)
		s.fail(r, l, f)
		return nil
	}
	s.d.Stats.accepted(TransportSSE)
	lastID := r.LastEventID
	if lastID == "" {
		lastID = r.Query.Get("lastEventId")
	}
	k := &sseSink{s: s, link: l, exp: g.principal.Expires, subject: subjectKey(g)}
	if !s.admit(k.subject) {
		s.d.Stats.refused(TransportSSE, &Failure{Code: "unavailable"})
		l.Respond(&conn.Response{Status: 429, ContentType: "application/json",
			Header: append(s.cfg.CORS.Headers(r.Origin), conn.Header{Name: "Retry-After", Value: "5"}),
			Body:   [][]byte{[]byte(`{"errorMessage":"Too many open streams for this token."}`)}})
		return nil
	}
	k.sub = &hub.Subscription{
		Stream: g.stream.Key(), StreamID: g.stream.ID, Scope: g.stream.TenantID,
		Criteria: g.criteria, Principal: g.principal, Sink: k,
		Conn: hub.ConnInfo{ID: sseConnID(r), Transport: "sse", Remote: l.RemoteAddr(), Since: time.Now(), Queued: queuedOf(l)},
	}
	h := append([]conn.Header{{Name: "Cache-Control", Value: "no-cache"}, {Name: "X-Accel-Buffering", Value: "no"}}, s.cfg.CORS.Headers(r.Origin)...)
	k.sub.OnStart = func() {
		l.Respond(&conn.Response{
			Status: 200, ContentType: "text/event-stream; charset=utf-8", Header: h, Stream: true,
			Body: [][]byte{sse.AppendRetry(nil, s.cfg.Retry)},
		})
		// Only now may the heartbeat and a drain write to the stream: a comment queued before
		// the response head would reach the client as a malformed HTTP response.
		s.mu.Lock()
		if !k.stopped {
			s.subs[k] = struct{}{}
		}
		s.mu.Unlock()
	}
	l.SetCloseHandler(func(conn.CloseReason) { k.stop() })
	s.d.Hub.Subscribe(k.sub, lastID, func() { l.Enqueue(resetEvent) })
	l.Flush()
	k.armExpiry()
	return nil
}

// subjectKey identifies the token behind a grant for MaxPerToken; anonymous callers are limited
// by the per-address connection limits instead.
func subjectKey(g *grant) string {
	if g.principal.Anonymous {
		return ""
	}
	return g.principal.TenantID + "\x00" + g.principal.Subject
}

// admit counts a new stream for subject, or refuses it at MaxPerToken.
func (s *SSE) admit(subject string) bool {
	if subject == "" || s.cfg.MaxPerToken <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perSubject[subject] >= s.cfg.MaxPerToken {
		return false
	}
	s.perSubject[subject]++
	return true
}

// resetEvent tells a client that resumed with Last-Event-ID outside the history window that it
// missed events (contract.md): it should reload its state; the stream continues live.
var resetEvent, _ = sse.AppendEvent(nil, "", "reset", []byte(`{"reason":"history-gap"}`))

func (s *SSE) fail(r *conn.Request, l conn.Link, f *Failure) {
	body := append([]byte(`{"errorMessage":`), jsontext.AppendString(nil, f.Message)...)
	body = append(body, '}')
	h := s.cfg.CORS.Headers(r.Origin)
	if f.Code == "unauthorized" {
		h = append(h, conn.Header{Name: "WWW-Authenticate", Value: `Bearer error="invalid_token"`})
	}
	l.Respond(&conn.Response{Status: f.HTTPStatus(), ContentType: "application/json", Header: h, Body: [][]byte{body}})
}

// sseSink is one SSE subscriber.
type sseSink struct {
	s       *SSE
	subject string // token subject counted against MaxPerToken ("" when not counted)
	link    conn.Link
	sub     *hub.Subscription
	exp     time.Time
	timer   *time.Timer // guarded by s.mu (armExpiry and stop run on different goroutines)
	once    sync.Once
	stopped bool // guarded by s.mu: the connection is gone, never list it in s.subs or arm timer
}

// Deliver implements hub.Sink.
func (k *sseSink) Deliver(it *hub.Item) (conn.Link, conn.Outcome) {
	return transport.EnqueueOutcome(k.link, it.SSE())
}

// End implements hub.Sink: an "event: close" with the reason, then the response ends.
func (k *sseSink) End(reason conn.CloseReason) {
	k.s.d.Stats.ended(reason)
	b, _ := sse.AppendEvent(nil, "", "close", closeJSON(reason))
	_ = k.link.Send(b)
	k.link.Close(reason)
}

// armExpiry ends the stream with "token-expired" at the token's exp. It runs on the request
// goroutine after Subscribe, when the connection's close handler (stop) may already have run
// on another: timer and stopped are both guarded by s.mu, so a stream stopped first is never
// armed, and a timer armed first is always stopped. The timer may fire before AfterFunc
// returns (an exp in the past): its End → stop then waits for s.mu, so it sees k.timer set.
func (k *sseSink) armExpiry() {
	if k.exp.IsZero() {
		return
	}
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	if k.stopped {
		return
	}
	k.timer = time.AfterFunc(k.exp.Sub(k.s.d.now()), func() { k.end(conn.ReasonTokenExpired) })
}

func (k *sseSink) stop() {
	k.once.Do(func() {
		k.s.d.Hub.Unsubscribe(k.sub)
		k.s.mu.Lock()
		if k.timer != nil {
			k.timer.Stop()
		}
		k.stopped = true
		delete(k.s.subs, k)
		if k.subject != "" {
			if k.s.perSubject[k.subject]--; k.s.perSubject[k.subject] <= 0 {
				delete(k.s.perSubject, k.subject)
			}
		}
		k.s.mu.Unlock()
	})
}

// end is the one way the server ends an SSE subscription (see member.end).
func (k *sseSink) end(reason conn.CloseReason) {
	if k.s.d.Hub.Unsubscribe(k.sub) {
		k.End(reason)
	}
}

// Ender ends one subscription (or session) for a reason, through its one end path.
type Ender func(reason conn.CloseReason)

// Streams returns an Ender per open SSE stream (for a graceful drain).
func (s *SSE) Streams() []Ender {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ender, 0, len(s.subs))
	for k := range s.subs {
		out = append(out, k.end)
	}
	return out
}

// sseConnID names an SSE connection in the operator listing: its request id when the client or
// a proxy gave one, else a fresh one.
func sseConnID(r *conn.Request) string {
	if r.RequestID != "" {
		return r.RequestID
	}
	return "sse-" + transport.NewID()
}
