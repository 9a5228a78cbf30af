package cluster

import (
	"encoding/json"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/pushgate/pushgate/engine/operator"
)

// Proxy is a worker's REST fallback: it relays every request that is not a push route to the
// parent's API socket, so ingest, configuration, tenants, streams and the development issuer are
// served by the one process that owns the store and the event source.
type Proxy struct {
	hc *fasthttp.HostClient
	// Local, when set, serves /metrics for requests that arrive over a Unix socket (the parent
	// gathering this worker's metrics) instead of relaying them.
	local fasthttp.RequestHandler
	// conns and receipt, when set, answer the parent's operator questions over the Unix socket.
	conns   func(operator.Filter) []operator.Connection
	receipt func(id, sub string) (operator.InstanceReceipt, bool)
	ready   func() error
}

// NewProxy returns a proxy to the API socket at path. ready, when set, makes /readyz answer 503
// locally while it fails (the worker's link is down).
func NewProxy(path string, timeout time.Duration, ready func() error) *Proxy {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Proxy{
		hc: &fasthttp.HostClient{
			Addr: path,
			Dial: func(string) (net.Conn, error) {
				return net.DialTimeout("unix", path, 2*time.Second)
			},
			MaxConns:                      4096,
			ReadTimeout:                   timeout,
			WriteTimeout:                  timeout,
			MaxIdleConnDuration:           30 * time.Second,
			DisableHeaderNamesNormalizing: true,
			DisablePathNormalizing:        true,
		},
		ready: ready,
	}
}

// ServeMetrics makes the proxy answer /metrics from g for requests arriving over a Unix socket.
func (p *Proxy) ServeMetrics(g prometheus.Gatherer) {
	p.local = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
}

// internalConnectionsPath is where a worker answers the parent's connections listing, only over
// its Unix socket (a request on the public port is relayed to the parent like any other).
const (
	internalConnectionsPath = "/pushgate-internal/connections"
	internalReceiptPath     = "/pushgate-internal/receipt"
)

// ServeConnections makes the proxy answer the parent's connections listing from fn.
func (p *Proxy) ServeConnections(fn func(operator.Filter) []operator.Connection) { p.conns = fn }

// ServeReceipts makes the proxy answer the parent's receipt questions from fn.
func (p *Proxy) ServeReceipts(fn func(id, sub string) (operator.InstanceReceipt, bool)) {
	p.receipt = fn
}

// Handle is the fasthttp handler (edge.Seams.Fallback).
func (p *Proxy) Handle(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	if p.local != nil && path == "/metrics" && ctx.RemoteAddr().Network() == "unix" {
		p.local(ctx)
		return
	}
	if p.conns != nil && path == internalConnectionsPath && ctx.RemoteAddr().Network() == "unix" {
		q := ctx.QueryArgs()
		b, _ := json.Marshal(p.conns(operator.Filter{TenantID: string(q.Peek("tenant")), Stream: string(q.Peek("stream")), Subject: string(q.Peek("sub"))}))
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
		return
	}
	if p.receipt != nil && path == internalReceiptPath && ctx.RemoteAddr().Network() == "unix" {
		q := ctx.QueryArgs()
		out := []operator.InstanceReceipt{}
		if r, ok := p.receipt(string(q.Peek("id")), string(q.Peek("sub"))); ok {
			out = append(out, r)
		}
		b, _ := json.Marshal(out)
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
		return
	}
	if path == "/readyz" && p.ready != nil {
		if err := p.ready(); err != nil {
			unavailable(ctx, "Not ready: "+err.Error())
			return
		}
	}
	req := &ctx.Request
	if ip := ctx.RemoteIP(); ip != nil && !ip.IsUnspecified() {
		req.Header.Set("X-Forwarded-For", ip.String())
	}
	if err := p.hc.Do(req, &ctx.Response); err != nil {
		ctx.Response.Reset()
		unavailable(ctx, "the parent process is unreachable: "+err.Error())
	}
}

func unavailable(ctx *fasthttp.RequestCtx, msg string) {
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Retry-After", "1")
	b, _ := json.Marshal(map[string]string{"errorMessage": msg})
	ctx.SetBody(b)
}
