package netserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/gobwas/ws"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/valyala/fasthttp"
)

var headEnd = []byte("\r\n\r\n")

// maxDiscard is the largest oversized body read away (rather than reset) after a 413.
const maxDiscard = 16 << 20

// readerPool holds bufio.Readers big enough for the largest accepted head: fasthttp's header
// parser needs the whole head inside the reader's buffer.
var readerPool sync.Pool

func getReader(head []byte, size int) *bufio.Reader {
	if v, ok := readerPool.Get().(*bufio.Reader); ok && v.Size() >= size {
		v.Reset(bytes.NewReader(head))
		return v
	}
	return bufio.NewReaderSize(bytes.NewReader(head), size)
}

// processHTTP consumes one complete request (head and Content-Length body) and dispatches it.
// It returns 0 while the request is incomplete.
func (c *Conn) processHTTP(data []byte) int {
	if c.discard > 0 {
		// Reading away the body of a request answered 413, so the client sees the answer
		// instead of a reset while it is still sending; then the connection closes.
		n := min(c.discard, len(data))
		c.discard -= n
		if c.discard == 0 {
			c.mode = modeClosed
			c.Close(conn.ReasonTooLarge)
		}
		return n
	}
	max := c.srv.cfg.MaxHeaderBytes
	end := bytes.Index(data, headEnd)
	head := data
	if end >= 0 {
		head = data[:end+len(headEnd)]
	}
	if bareLF(head) {
		// A head with bare-LF line ends would otherwise wait for a CRLF CRLF that never comes
		// (until the header timeout), and parsers that disagree on it are how requests are
		// smuggled: refuse it at once (RFC 9112 §2.2 allows it).
		c.respondError(400, "request line or header ends with a bare LF; use CRLF", true)
		return len(data)
	}
	if end < 0 {
		if len(data) > max {
			c.respondError(431, "request header too large", true)
			return len(data)
		}
		return 0
	}
	headLen := end + len(headEnd)
	if headLen > max {
		c.respondError(431, "request header too large", true)
		return len(data)
	}
	rc := acquireCtx()
	defer releaseCtx(rc)
	req := &rc.Request
	br := getReader(data[:headLen], max+512)
	err := req.Header.Read(br)
	br.Reset(nil)
	readerPool.Put(br)
	if err != nil {
		c.respondError(400, "malformed request head", true)
		return len(data)
	}
	cl := req.Header.ContentLength()
	if cl == -1 {
		c.respondError(411, "chunked request bodies are not supported; send Content-Length", true)
		return len(data)
	}
	if cl < 0 {
		cl = 0
	}
	if cl > c.srv.cfg.MaxBodyBytes {
		if cl > maxDiscard {
			c.respondError(413, "request body too large", true)
			return len(data)
		}
		c.respondError(413, "request body too large", false)
		c.discard = cl
		return headLen
	}
	if len(data) < headLen+cl {
		return 0
	}
	body := data[headLen : headLen+cl]
	c.armTimer(c.srv.cfg.IdleTimeout)
	c.dispatch(rc, data[:headLen], body, data[:headLen+cl])
	return headLen + cl
}

// bareLF reports whether b holds a LF not preceded by CR.
func bareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

func (c *Conn) dispatch(rc *fasthttp.RequestCtx, head, body, raw []byte) {
	req := &rc.Request
	path := string(req.URI().Path())
	method := string(req.Header.Method())
	if c.srv.log.Enabled(context.Background(), slog.LevelDebug) {
		c.srv.log.Debug("request", "id", requestID(req), "method", method, "path", path,
			"query", redactQuery(string(req.URI().QueryString())), "remote", c.remote)
	}
	for _, m := range c.srv.routes.Mounts {
		if !strings.HasPrefix(path, m.Prefix) || (m.Method != "" && m.Method != method) {
			continue
		}
		c.serveMount(m.Handler, req, method, path, head, body, raw)
		return
	}
	c.serveFallback(rc, body)
}

func (c *Conn) serveMount(h conn.HTTPHandler, req *fasthttp.Request, method, path string, head, body, raw []byte) {
	rawQuery := string(req.URI().QueryString())
	q, _ := url.ParseQuery(rawQuery)
	tr := &conn.Request{
		Method:        method,
		Path:          path,
		RawQuery:      rawQuery,
		Query:         q,
		Origin:        string(req.Header.Peek("Origin")),
		Authorization: string(req.Header.Peek("Authorization")),
		ContentType:   string(req.Header.ContentType()),
		LastEventID:   string(req.Header.Peek("Last-Event-ID")),
		ACRHeaders:    string(req.Header.Peek("Access-Control-Request-Headers")),
		Upgrade:       req.Header.ConnectionUpgrade() && strings.EqualFold(string(req.Header.Peek("Upgrade")), "websocket"),
		Body:          body,
		RemoteAddr:    c.remote,
		Raw:           raw,
	}
	c.pending.Add(1)
	wsh := h.ServeRequest(tr, c)
	if wsh == nil {
		return
	}
	c.upgrade(wsh, head)
}

// upgrade completes a WebSocket handshake with gobwas/ws on the head already in memory, so the
// upgrade never blocks the event loop on a slow client.
func (c *Conn) upgrade(h conn.WSHandler, head []byte) {
	var out bytes.Buffer
	rw := struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(head), &out}
	_, err := ws.Upgrader{}.Upgrade(rw)
	c.pending.Add(-1)
	if err != nil {
		if out.Len() == 0 {
			c.respondError(400, "bad websocket handshake", true)
			return
		}
		_ = c.Send(out.Bytes())
		c.Close(conn.ReasonProtocolError)
		return
	}
	c.stopTimer()
	c.mode = modeWS
	c.ws = h
	_ = c.Send(out.Bytes())
	h.OnOpen(c)
}

// serveFallback runs the fasthttp handler on rc, whose Request holds the parsed head (the
// handler gets the body as a copy of its own: what it decodes may outlive the input buffer).
func (c *Conn) serveFallback(rc *fasthttp.RequestCtx, body []byte) {
	if c.srv.routes.Fallback == nil {
		c.respondError(404, "not found", false)
		return
	}
	rc.Request.SetBodyRaw(bytes.Clone(body))
	rc.Init2(c.nc, c.srv.fasthttpLog, true)
	c.srv.routes.Fallback(rc)
	closeAfter := rc.Request.Header.ConnectionClose()
	if closeAfter {
		rc.Response.SetConnectionClose()
	}
	out := bytes.NewBuffer(make([]byte, 0, 256+len(rc.Response.Body())))
	_, _ = rc.Response.WriteTo(out)
	_ = c.Send(out.Bytes())
	if closeAfter {
		c.Close(conn.ReasonClientClose)
	}
}

// ctxPool holds the request contexts heads are parsed into: the fallback handler gets one without
// the copy RequestCtx.Init makes of a parsed request (its header and arguments were a third of
// the allocations of an ingest POST, BENCHMARKS.md §2d). Handlers follow fasthttp's rule: nothing
// of the context is kept after they return.
var ctxPool = sync.Pool{New: func() any { return new(fasthttp.RequestCtx) }}

func acquireCtx() *fasthttp.RequestCtx { return ctxPool.Get().(*fasthttp.RequestCtx) }

func releaseCtx(rc *fasthttp.RequestCtx) {
	rc.Request.Reset()
	rc.Response.Reset()
	ctxPool.Put(rc)
}

// fasthttpLogger is what a fasthttp.RequestCtx logs with (RequestCtx.Logger).
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("http handler: " + fmt.Sprintf(format, args...))
}

// Respond implements conn.Link.
func (c *Conn) Respond(r *conn.Response) {
	if r.Stream {
		c.stopTimer()
		c.mode = modeStream
	}
	_ = c.Send(appendResponse(r)...)
	c.pending.Add(-1)
	if r.Close {
		c.Close(conn.ReasonServerClose)
	}
}

// appendResponse renders r: the head, then the body slices.
func appendResponse(r *conn.Response) [][]byte {
	n := 0
	for _, b := range r.Body {
		n += len(b)
	}
	head := make([]byte, 0, 256)
	head = append(head, "HTTP/1.1 "...)
	head = strconv.AppendInt(head, int64(r.Status), 10)
	head = append(head, ' ')
	head = append(head, fasthttp.StatusMessage(r.Status)...)
	head = append(head, "\r\n"...)
	if r.ContentType != "" {
		head = append(head, "Content-Type: "...)
		head = append(head, r.ContentType...)
		head = append(head, "\r\n"...)
	}
	if !r.Stream {
		head = append(head, "Content-Length: "...)
		head = strconv.AppendInt(head, int64(n), 10)
		head = append(head, "\r\n"...)
	}
	for _, h := range r.Header {
		head = append(head, h.Name...)
		head = append(head, ": "...)
		head = append(head, h.Value...)
		head = append(head, "\r\n"...)
	}
	if r.Close || r.Stream {
		head = append(head, "Connection: close\r\n"...)
	}
	head = append(head, "\r\n"...)
	bufs := make([][]byte, 0, 1+len(r.Body))
	bufs = append(bufs, head)
	return append(bufs, r.Body...)
}

// refuse answers a connection refused at admission (before any request is read) and closes it.
func (c *Conn) refuse(status int, msg string) {
	body := append([]byte(`{"errorMessage":`), strconv.Quote(msg)...)
	body = append(body, '}')
	c.pending.Add(1)
	c.Respond(&conn.Response{Status: status, ContentType: "application/json",
		Header: []conn.Header{{Name: "Retry-After", Value: "1"}}, Body: [][]byte{body}, Close: true})
	c.mode = modeClosed
}

// respondError answers a request the server itself rejects, with the REST error body.
func (c *Conn) respondError(status int, msg string, closeConn bool) {
	body := append([]byte(`{"errorMessage":`), strconv.Quote(msg)...)
	body = append(body, '}')
	c.pending.Add(1)
	c.Respond(&conn.Response{Status: status, ContentType: "application/json", Body: [][]byte{body}, Close: closeConn})
	if closeConn {
		c.mode = modeClosed
	}
}
