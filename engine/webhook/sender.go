package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// sender is one endpoint's HTTP client. It is fasthttp's HostClient rather than net/http's
// client because the profile chose it: net/http runs three goroutines per request (the caller,
// the connection's reader and writer) with channel hand-offs between them and ~40 allocations,
// ~45 % of the CPU left per delivery (BENCHMARKS.md §2d); the HostClient writes and reads on the
// caller's goroutine with pooled requests and buffers.
//
// Per endpoint, not per host, so that removing a webhook can abort its in-flight attempt: the
// sender tracks the connections it dialled and abort closes them (a blocked read returns at once)
// and refuses new dials. What net/http's client was configured for is kept: the guard decides on
// every dialled address (Dial), no proxy, redirects never followed (HostClient.Do does not follow
// them), keep-alive, and at most maxResponseRead bytes of an answer are read.
type sender struct {
	hc      *fasthttp.HostClient
	url     string // the webhook's URL as configured (a changed URL gets a new sender)
	uri     []byte // the same, for each request (fasthttp sends user information as Basic auth)
	timeout time.Duration

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	aborted bool
}

// errAborted is the error of an attempt whose webhook was removed (or the service closed) while
// it ran; its result is not recorded.
var errAborted = errors.New("webhook: attempt aborted")

// newSender returns the sender of one webhook URL (validated when the document was saved).
func newSender(g *Guard, roots *x509.CertPool, rawURL string, timeout time.Duration, maxConns int) (*sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, errors.New("invalid URL") // the URL may carry credentials: not in the text
	}
	https := u.Scheme == "https"
	port := u.Port()
	if port == "" {
		port = "80"
		if https {
			port = "443"
		}
	}
	c := &sender{url: rawURL, uri: []byte(rawURL), timeout: timeout, conns: map[net.Conn]struct{}{}}
	d := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second, Control: g.control}
	c.hc = &fasthttp.HostClient{
		Addr:      net.JoinHostPort(u.Hostname(), port),
		IsTLS:     https,
		TLSConfig: &tls.Config{ServerName: u.Hostname(), RootCAs: roots, MinVersion: tls.VersionTLS12},
		Dial:      func(addr string) (net.Conn, error) { return c.dial(d, addr) },
		// One attempt per delivery and no retry of its own, except on a kept-alive connection the
		// receiver closed before answering (what net/http also repeats); a repeated POST is fine
		// anyway: deliveries are at-least-once, with the same webhook-id.
		RetryIfErr: func(_ *fasthttp.Request, attempts int, err error) (bool, bool) {
			// io.EOF here: HostClient.Do turns it into ErrConnectionClosed only after deciding.
			// A reset or a broken pipe is the same stale connection seen a moment later.
			return false, attempts == 1 && (errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
				errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
		},
		MaxConns:            maxConns,
		MaxIdleConnDuration: 90 * time.Second,
		MaxResponseBodySize: maxResponseRead,
		// fasthttp reads an answer's head within one buffer of this size (4 KiB by default):
		// a CDN's policy headers and cookies exceed that. Pooled per request, not per connection.
		ReadBufferSize:           maxResponseHead,
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true, // the path is sent as configured
	}
	return c, nil
}

func (c *sender) dial(d *net.Dialer, addr string) (net.Conn, error) {
	c.mu.Lock()
	aborted := c.aborted
	c.mu.Unlock()
	if aborted {
		return nil, errAborted
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: conn, owner: c}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted {
		_ = conn.Close()
		return nil, errAborted
	}
	c.conns[tc] = struct{}{}
	return tc, nil
}

// abort closes every connection (an attempt in flight fails at once) and refuses new ones. It is
// called without Service.mu held; a nil sender (an unusable URL) has nothing to abort.
func (c *sender) abort() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.aborted = true
	conns := make([]net.Conn, 0, len(c.conns))
	for conn := range c.conns {
		conns = append(conns, conn)
	}
	c.mu.Unlock()
	for _, conn := range conns {
		_ = conn.Close()
	}
	c.hc.CloseIdleConnections()
}

// closeIdle closes the kept-alive connections of a sender replaced by one for a new URL.
func (c *sender) closeIdle() {
	if c != nil {
		c.hc.CloseIdleConnections()
	}
}

func (c *sender) isAborted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborted
}

// trackedConn removes itself from its sender's set when closed.
type trackedConn struct {
	net.Conn
	owner *sender
	once  sync.Once
}

func (t *trackedConn) Close() error {
	err := t.Conn.Close()
	t.once.Do(func() {
		t.owner.mu.Lock()
		delete(t.owner.conns, t)
		t.owner.mu.Unlock()
	})
	return err
}

// attempt is what one POST carries besides the body.
type attempt struct {
	id, timestamp, signature, traceparent string
}

// post sends one attempt and classifies the answer.
func (c *sender) post(a attempt, body []byte) result {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURIBytes(c.uri)
	req.Header.SetContentType("application/json")
	req.Header.SetUserAgent(userAgent)
	req.Header.Set("webhook-id", a.id)
	req.Header.Set("webhook-timestamp", a.timestamp)
	req.Header.Set("webhook-signature", a.signature)
	if a.traceparent != "" {
		req.Header.Set("traceparent", a.traceparent)
	}
	req.SetBodyRaw(body)
	start := time.Now()
	err := c.hc.DoTimeout(req, resp, c.timeout)
	latency := time.Since(start)
	if err != nil && !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		if c.isAborted() {
			return result{outcome: OutcomeNetwork, err: errAborted.Error(), latency: latency}
		}
		r := classify(err)
		r.latency = latency
		return r
	}
	// A body larger than maxResponseRead is not read (the connection is closed); the status
	// line and headers were, and they decide.
	status := resp.StatusCode()
	r := result{status: status, date: string(resp.Header.Peek(fasthttp.HeaderDate)), latency: latency,
		retryAfter: retryAfter(status, string(resp.Header.Peek(fasthttp.HeaderRetryAfter)), time.Now())}
	if err == nil {
		b := resp.Body()
		r.excerpt = append([]byte(nil), b[:min(len(b), maxResponseExcerpt)]...)
	}
	switch status / 100 {
	case 2:
		r.outcome = OutcomeSuccess
	case 3:
		r.outcome = OutcomeHTTP3xx
	case 5:
		r.outcome = OutcomeHTTP5xx
	default:
		r.outcome = OutcomeHTTP4xx
	}
	return r
}

// setSenderLocked gives ep a sender for its URL (a new one when the URL changed; an attempt
// still running on the old one finishes there). It returns the replaced sender, whose idle
// connections the caller closes once Service.mu is released.
func (s *Service) setSenderLocked(ep *endpoint) (replaced *sender) {
	if ep.client != nil && ep.client.url == ep.sc.Hook.URL {
		return nil
	}
	replaced = ep.client
	c, err := newSender(&s.cfg.Guard, s.cfg.RootCAs, ep.sc.Hook.URL, s.cfg.Timeout, s.cfg.MaxInFlight)
	if err != nil {
		s.log.Error("webhook: URL not usable; its attempts fail", "webhook", ep.sc.Hook.Key, "err", err)
	}
	ep.client = c
	return replaced
}
