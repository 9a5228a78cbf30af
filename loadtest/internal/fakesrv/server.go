package fakesrv

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Options shape the fake server.
type Options struct {
	Namespace  string        // Socket.IO namespace, default "/demo"
	Refuse     bool          // answer CONNECT with CONNECT_ERROR
	PingEvery  time.Duration // 0 = no Engine.IO pings
	ChunkedSSE bool          // send SSE with Transfer-Encoding: chunked
	EventName  string        // default "bench:tick"
}

// Server is a running fake.
type Server struct {
	Addr  string
	opt   Options
	ln    net.Listener
	mu    sync.Mutex
	subs  map[*sub]struct{}
	sids  map[string]*pollSession
	seq   atomic.Int64
	Pongs atomic.Int64 // Engine.IO pongs received
	Posts atomic.Int64 // events accepted
	wg    sync.WaitGroup
}

type sub struct {
	mu  sync.Mutex
	w   io.Writer
	sse bool
	chk bool
}

type pollSession struct {
	connected bool
	pending   []string
}

// Start listens on 127.0.0.1:0 and serves until the test ends.
func Start(t testing.TB, opt Options) *Server {
	if opt.Namespace == "" {
		opt.Namespace = "/demo"
	}
	if opt.EventName == "" {
		opt.EventName = "bench:tick"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), opt: opt, ln: ln, subs: map[*sub]struct{}{}, sids: map[string]*pollSession{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for k := range s.subs {
			if c, ok := k.w.(io.Closer); ok {
				c.Close()
			}
		}
		s.mu.Unlock()
	})
	return s
}

// Subscribers returns the number of connected subscribers.
func (s *Server) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.serve(c)
	}
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		q := req.URL.Query()
		switch {
		case strings.HasPrefix(req.URL.Path, "/socket.io/") && q.Get("transport") == "websocket":
			s.serveWS(c, br, req)
			return
		case strings.HasPrefix(req.URL.Path, "/socket.io/") && q.Get("transport") == "polling":
			s.servePoll(c, req, body)
		case strings.HasPrefix(req.URL.Path, "/stream/v1/streams/"):
			s.serveSSE(c)
			return
		case req.Method == "POST" && req.URL.Path == "/event/v1/events":
			s.Posts.Add(1)
			s.broadcast(bytes.TrimSpace(body))
			respond(c, 202, "application/json", fmt.Sprintf(`{"id":"%d"}`, s.seq.Load()))
		default:
			respond(c, 404, "application/json", `{"errorMessage":"not found"}`)
		}
	}
}

func respond(w io.Writer, status int, ctype, body string) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", status, http.StatusText(status), ctype, len(body), body)
}

// Broadcast sends event (a JSON object) to every subscriber, as a POST would.
func (s *Server) Broadcast(event []byte) { s.broadcast(event) }

// broadcast sends the event to every subscriber.
func (s *Server) broadcast(event []byte) {
	id := s.seq.Add(1)
	s.mu.Lock()
	subs := make([]*sub, 0, len(s.subs))
	for k := range s.subs {
		subs = append(subs, k)
	}
	s.mu.Unlock()
	for _, k := range subs {
		if k.sse {
			msg := fmt.Sprintf("id: 1-%d\ndata: %s\n\n", id, event)
			k.write([]byte(msg))
			continue
		}
		k.text(fmt.Sprintf(`42%s,["%s",%s]`, s.opt.Namespace, s.opt.EventName, event))
	}
}

func (k *sub) write(b []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.chk {
		fmt.Fprintf(k.w, "%x\r\n%s\r\n", len(b), b)
		return
	}
	_, _ = k.w.Write(b)
}

func (k *sub) text(msg string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = wsutil.WriteServerText(k.w, []byte(msg))
}

func (s *Server) add(k *sub) {
	s.mu.Lock()
	s.subs[k] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) remove(k *sub) {
	s.mu.Lock()
	delete(s.subs, k)
	s.mu.Unlock()
}

func (s *Server) serveSSE(c net.Conn) {
	te := ""
	if s.opt.ChunkedSSE {
		te = "Transfer-Encoding: chunked\r\n"
	}
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n%sConnection: close\r\n\r\n", te)
	k := &sub{w: c, sse: true, chk: s.opt.ChunkedSSE}
	k.write([]byte(": hello\n\n"))
	s.add(k)
	defer s.remove(k)
	_, _ = io.Copy(io.Discard, c) // until the client goes away
}

func (s *Server) servePoll(c net.Conn, req *http.Request, body []byte) {
	sid := req.URL.Query().Get("sid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if sid == "" {
		sid = "sid" + strconv.FormatInt(s.seq.Add(1), 10)
		s.sids[sid] = &pollSession{}
		respond(c, 200, "text/plain; charset=UTF-8", `0{"sid":"`+sid+`","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
		return
	}
	ps := s.sids[sid]
	if ps == nil {
		respond(c, 400, "application/json", `{"code":1,"message":"Session ID unknown"}`)
		return
	}
	if req.Method == "POST" {
		if strings.HasPrefix(string(body), "40"+s.opt.Namespace+",") {
			ps.pending = append(ps.pending, s.connectReply(), "2")
		}
		respond(c, 200, "text/html", "ok")
		return
	}
	out := strings.Join(ps.pending, "\x1e")
	ps.pending = nil
	if out == "" {
		out = "6"
	}
	respond(c, 200, "text/plain; charset=UTF-8", out)
}

func (s *Server) connectReply() string {
	if s.opt.Refuse {
		return `44` + s.opt.Namespace + `,{"message":"Unauthorized","data":{"code":"unauthorized"}}`
	}
	return `40` + s.opt.Namespace + `,{"sid":"s"}`
}

func (s *Server) serveWS(c net.Conn, br *bufio.Reader, req *http.Request) {
	accept := wsAccept(req.Header.Get("Sec-WebSocket-Key"))
	fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept)
	k := &sub{w: c}
	rw := struct {
		io.Reader
		io.Writer
	}{br, c}
	sid := req.URL.Query().Get("sid")
	if sid == "" {
		k.text(`0{"sid":"w","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	}
	stop := make(chan struct{})
	defer close(stop)
	defer s.remove(k)
	for {
		msg, op, err := wsutil.ReadClientData(rw)
		if err != nil {
			return
		}
		if op != ws.OpText {
			continue
		}
		m := string(msg)
		switch {
		case m == "2probe":
			k.text("3probe")
		case m == "5":
			s.add(k)
			s.startPings(k, stop)
		case m == "3":
			s.Pongs.Add(1)
		case strings.HasPrefix(m, "40"+s.opt.Namespace+","), m == "40" && s.opt.Namespace == "/":
			if !s.opt.Refuse {
				s.add(k)
			}
			k.text(s.connectReply())
			if !s.opt.Refuse {
				k.text("2") // one immediate ping, so every client shows a pong
				s.startPings(k, stop)
			}
		}
	}
}

func (s *Server) startPings(k *sub, stop chan struct{}) {
	if s.opt.PingEvery <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(s.opt.PingEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				k.text("2")
			}
		}
	}()
}
