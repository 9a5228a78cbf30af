// Package floor is the calibration server of the side-by-side benchmark: the least a Go
// Socket.IO push server can do on this machine. It admits a client over WebSocket (gobwas/ws
// upgrade on the raw connection, Engine.IO open, Socket.IO CONNECT reply), pings every
// PingInterval, and for each published event builds one precomputed WebSocket frame and writes
// it to every socket with one write(2) from a single goroutine. Nothing else: no streams, no
// authorisation, no queues (a socket that cannot take a whole frame at once is closed), no
// coalescing. pushgate's per-delivery CPU and latency are compared with it in the same run.
//
// Wire contract (what loadtest/ and the publisher need): GET /socket.io/?EIO=4&transport=websocket
// upgrades; POST /event/v1/events {namespace,name,timestamp,payload} emits
// 42<nsp>,["<namespace>:<name>",{tenantId,namespace,name,timestamp,payload}] to every socket;
// PATCH /configuration/... is accepted and ignored; GET /health; GET /debug/mem (after a GC).
package floor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/protocol/engineio"
	"github.com/pushgate/pushgate/protocol/socketio"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

// Config configures a Server.
type Config struct {
	Namespace    string        // namespace events are framed for, default "/demo"
	TenantID     string        // tenantId written into each item
	PingInterval time.Duration // default 25s
	PingTimeout  time.Duration // default 20s
	Logf         func(format string, args ...any)
}

// Server is the floor server.
type Server struct {
	cfg    Config
	events chan []byte
	ctl    chan ctlMsg // add and remove, in order per connection
	httpL  *chanListener
	seq    atomic.Int64

	// counters (read with Stats)
	writes, deliveries, closedSlow, conns atomic.Int64
}

type ctlMsg struct {
	c   *conn
	add bool
}

type conn struct {
	nc     net.Conn
	fd     int
	closed bool // writer-owned
	idx    int  // index in the writer's slice
}

// Stats is exposed at /debug/vars.
type Stats struct {
	Conns      int64 `json:"conns"`
	Writes     int64 `json:"writes"`
	Deliveries int64 `json:"deliveries"`
	ClosedSlow int64 `json:"closed_slow"`
}

// New returns a server; call Serve.
func New(cfg Config) *Server {
	if cfg.Namespace == "" {
		cfg.Namespace = "/demo"
	}
	if cfg.TenantID == "" {
		cfg.TenantID = "urn:ads:platform:tenant-service:v2:/tenants/000000000000000000000001"
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = 20 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	return &Server{cfg: cfg, events: make(chan []byte, 4096), ctl: make(chan ctlMsg, 4096)}
}

// Serve accepts on l until it fails.
func (s *Server) Serve(l net.Listener) error {
	s.httpL = &chanListener{addr: l.Addr(), ch: make(chan net.Conn, 64), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /event/v1/events", s.ingest)
	mux.HandleFunc("PATCH /configuration/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) })
	mux.HandleFunc("GET /debug/mem", s.mem)
	mux.HandleFunc("GET /debug/vars", func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(s.Stats()) })
	go func() { _ = (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(s.httpL) }()
	go s.writer()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			close(s.httpL.done)
			return err
		}
		go s.handshake(c)
	}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Conns: s.conns.Load(), Writes: s.writes.Load(), Deliveries: s.deliveries.Load(), ClosedSlow: s.closedSlow.Load()}
}

func (s *Server) mem(w http.ResponseWriter, r *http.Request) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	_ = json.NewEncoder(w).Encode(map[string]any{"heap_inuse": m.HeapInuse, "heap_alloc": m.HeapAlloc,
		"stack_inuse": m.StackInuse, "sys": m.Sys, "goroutines": runtime.NumGoroutine(), "conns": s.conns.Load()})
}

type eventBody struct {
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	Timestamp string          `json:"timestamp"`
	Payload   json.RawMessage `json:"payload"`
}

// ingest builds the one frame of the event and hands it to the writer.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	var ev eventBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err != nil || ev.Namespace == "" || ev.Name == "" {
		http.Error(w, `{"errorMessage":"bad event"}`, http.StatusBadRequest)
		return
	}
	if ev.Payload == nil {
		ev.Payload = json.RawMessage(`{}`)
	}
	item := make([]byte, 0, 160+len(ev.Payload))
	item = append(item, `{"tenantId":`...)
	item = strconv.AppendQuote(item, s.cfg.TenantID)
	item = append(item, `,"namespace":`...)
	item = strconv.AppendQuote(item, ev.Namespace)
	item = append(item, `,"name":`...)
	item = strconv.AppendQuote(item, ev.Name)
	item = append(item, `,"timestamp":`...)
	item = strconv.AppendQuote(item, ev.Timestamp)
	item = append(item, `,"payload":`...)
	item = append(item, ev.Payload...)
	item = append(item, '}')
	pkt := socketio.AppendEvent([]byte{byte(engineio.PacketMessage)}, s.cfg.Namespace, ev.Namespace+":"+ev.Name, item)
	s.events <- wsframe.AppendFrame(make([]byte, 0, len(pkt)+10), ws.OpText, pkt)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"floor-%d"}`, s.seq.Add(1))
}

// writer is the single goroutine that writes to client sockets (and closes them).
func (s *Server) writer() {
	var conns []*conn
	ping := wsframe.AppendFrame(nil, ws.OpText, []byte{byte(engineio.PacketPing)})
	t := time.NewTicker(s.cfg.PingInterval)
	defer t.Stop()
	remove := func(c *conn) {
		if c.closed {
			return
		}
		c.closed = true
		last := conns[len(conns)-1]
		conns[c.idx], last.idx = last, c.idx
		conns = conns[:len(conns)-1]
		s.conns.Add(-1)
		_ = c.nc.Close()
	}
	writeAll := func(frame []byte, count bool) {
		var writes int64
		for i := 0; i < len(conns); {
			c := conns[i]
			n, err := syscall.Write(c.fd, frame)
			writes++
			if err != nil || n != len(frame) {
				// EAGAIN or a short write: this floor keeps no queue; the socket is closed.
				s.closedSlow.Add(1)
				remove(c) // moves the last conn to i
				continue
			}
			i++
		}
		s.writes.Add(writes)
		if count {
			s.deliveries.Add(int64(len(conns)))
		}
	}
	for {
		select {
		case f := <-s.events:
			writeAll(f, true)
		case m := <-s.ctl:
			if m.add {
				m.c.idx = len(conns)
				conns = append(conns, m.c)
				s.conns.Add(1)
			} else {
				remove(m.c)
			}
		case <-t.C:
			writeAll(ping, false)
		}
	}
}

// wsPrefix marks an upgrade request; every other request goes to net/http.
const wsPrefix = "GET /socket.io/"

// handshake upgrades, opens the Engine.IO session, answers the Socket.IO CONNECT and then
// only reads (and discards) what the client sends: pongs.
func (s *Server) handshake(nc net.Conn) {
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(nc, 512)
	head, err := br.Peek(len(wsPrefix))
	if err != nil {
		_ = nc.Close()
		return
	}
	if string(head) != wsPrefix {
		_ = nc.SetDeadline(time.Time{})
		s.httpL.push(&peekedConn{Conn: nc, r: br})
		return
	}
	u := ws.Upgrader{ReadBufferSize: 512, WriteBufferSize: 512}
	if _, err := u.Upgrade(struct {
		io.Reader
		io.Writer
	}{br, nc}); err != nil {
		_ = nc.Close()
		return
	}
	sid := fmt.Sprintf("floor%012d", s.seq.Add(1))
	open := engineio.AppendOpen([]byte{}, engineio.Handshake{SID: sid, PingInterval: s.cfg.PingInterval,
		PingTimeout: s.cfg.PingTimeout, MaxPayload: 1000000})
	if _, err := nc.Write(wsframe.AppendFrame(nil, ws.OpText, open)); err != nil {
		_ = nc.Close()
		return
	}
	// Wait for the CONNECT: 40<nsp>,{…}
	var buf []byte
	tmp := make([]byte, 512)
	for {
		n, err := br.Read(tmp)
		if err != nil {
			_ = nc.Close()
			return
		}
		buf = append(buf, tmp[:n]...)
		h, payload, m, err := wsframe.ParseFrame(buf, true, 1<<16)
		if errors.Is(err, wsframe.ErrShort) {
			continue // need more bytes
		}
		if err != nil {
			_ = nc.Close()
			return
		}
		if h.OpCode == ws.OpText && len(payload) >= 2 && payload[0] == '4' && payload[1] == '0' {
			nsp := "/"
			if len(payload) > 2 && payload[2] == '/' {
				end := bytes.IndexByte(payload, ',')
				if end < 0 {
					end = len(payload)
				}
				nsp = string(payload[2:end])
			}
			reply := socketio.AppendConnect([]byte{byte(engineio.PacketMessage)}, nsp, sid)
			if _, err := nc.Write(wsframe.AppendFrame(nil, ws.OpText, reply)); err != nil {
				_ = nc.Close()
				return
			}
			break
		}
		buf = buf[m:]
	}
	_ = nc.SetDeadline(time.Time{})
	c := &conn{nc: nc}
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		_ = nc.Close()
		return
	}
	_ = rc.Control(func(fd uintptr) { c.fd = int(fd) })
	s.ctl <- ctlMsg{c: c, add: true}
	// Discard everything else (pongs); bytes the bufio reader may still hold are pongs too.
	var small [64]byte
	for {
		if _, err := nc.Read(small[:]); err != nil {
			s.ctl <- ctlMsg{c: c}
			return
		}
	}
}

// peekedConn replays the bytes the accept path peeked at.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// chanListener feeds net/http the non-WebSocket connections.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.once.Do(func() {}); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }
