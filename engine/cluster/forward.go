package cluster

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/protocol/engineio"
)

// SIDPrefix is the Engine.IO session-id prefix of worker index: "w<index>.".
func SIDPrefix(index int) string { return "w" + strconv.Itoa(index) + "." }

// ownerOf returns the worker index carried by sid ("w3.abc" → 3).
func ownerOf(sid string) (int, bool) {
	rest, ok := strings.CutPrefix(sid, "w")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok || num == "" || len(num) > 5 {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || strconv.Itoa(n) != num {
		return 0, false
	}
	return n, true
}

// owner is where the session named by a forwarded request lives: a worker process on this
// machine (worker >= 0: polling over its Unix socket, upgrades moved by descriptor, handoff.go)
// or another instance (worker < 0: polling over TCP to its internal address, signed, upgrades
// proxied, peers.go).
type owner struct {
	key     string // pool key of the kept-alive connections
	network string
	addr    string
	worker  int
}

// Forwarder relays Engine.IO polling requests whose sid belongs to another process (a worker of
// this machine, or another instance) to that process and the answer back, and moves WebSocket
// upgrades for such sessions to their owner worker (edge.Routing.Forward). Connections to the
// owners are kept alive and reused; each forwarded request holds one (a long-poll GET up to the
// owner's ping interval) and runs on its own goroutine. Which process owns a sid is the resolve
// function's business: NewForwarder (workers, "w<i>.") and NewPeerForwarder (instances).
type Forwarder struct {
	resolve func(sid string) (owner, bool)
	sign    func(raw []byte) []byte // nil: forwarded as is (Unix sockets are not reachable from outside)
	timeout time.Duration

	mu   sync.Mutex
	idle map[string][]*fwdConn

	handoffs handoffSender

	// self is this instance's id (peers only): upgrades for other instances' sessions move
	// the session here (Migrate); moved remembers the sessions that moved away from here.
	self  string
	moved moves

	Forwarded     atomic.Int64 // polling requests relayed to their owner
	HandedOff     atomic.Int64 // WebSocket upgrades whose connection moved to their owner (workers)
	Failed        atomic.Int64 // relays and handoffs that did not happen
	MigratedIn    atomic.Int64 // sessions taken over from their owner instance for an upgrade
	MigrateFailed atomic.Int64 // such takeovers that failed (the client went on polling)
}

type fwdConn struct {
	net.Conn
	br   *bufio.Reader
	used time.Time
}

// NewForwarder forwards for worker self to the sockets in runDir. timeout bounds one exchange
// (it must exceed the ping interval, the longest a polling GET waits). Zero means 60s.
func NewForwarder(runDir string, self int, timeout time.Duration) *Forwarder {
	return newForwarder(runDir, timeout, func(sid string) (owner, bool) {
		j, ok := ownerOf(sid)
		if !ok || j == self {
			return owner{}, false
		}
		path := WorkerSocket(runDir, j)
		if _, err := os.Stat(path); err != nil {
			return owner{}, false // no such worker: the transport answers "Session ID unknown"
		}
		return owner{key: path, network: "unix", addr: path, worker: j}, true
	})
}

func newForwarder(runDir string, timeout time.Duration, resolve func(string) (owner, bool)) *Forwarder {
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &Forwarder{resolve: resolve, timeout: timeout, idle: map[string][]*fwdConn{},
		handoffs: handoffSender{dir: runDir, conns: map[int]*net.UnixConn{}}}
}

// Forward implements edge.Routing.Forward.
func (f *Forwarder) Forward(sid string, r *conn.Request, l conn.Link) bool {
	o, ok := f.resolve(sid)
	if !ok {
		return false
	}
	if r.Upgrade {
		if o.worker >= 0 {
			return f.handOff(o.worker, r, l)
		}
		// Another instance's: the session moves here (Migrate) or the upgrade is refused and
		// the client keeps polling; a WebSocket is never relayed (it would die with either).
		return false
	}
	raw := append([]byte(nil), r.Raw...)
	origin := r.Origin
	f.Forwarded.Add(1)
	go func() {
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseResponse(resp)
		if err := f.exchange(o, raw, resp); err != nil {
			f.Failed.Add(1)
			l.Respond(sessionUnknown(origin))
			return
		}
		l.Respond(relay(resp))
	}()
	return true
}

// exchange sends raw to the owner and reads its answer, retrying once on a fresh connection when
// a reused one turns out to be closed.
func (f *Forwarder) exchange(o owner, raw []byte, resp *fasthttp.Response) error {
	return f.exchangeWithin(o, raw, resp, f.timeout)
}

// exchangeWithin is exchange with its own bound.
func (f *Forwarder) exchangeWithin(o owner, raw []byte, resp *fasthttp.Response, timeout time.Duration) error {
	for attempt := 0; ; attempt++ {
		c, reused, err := f.get(o)
		if err != nil {
			return err
		}
		_ = c.SetDeadline(time.Now().Add(timeout))
		out := raw
		if f.sign != nil {
			out = f.sign(raw) // per attempt: the owner accepts a signature once
		}
		_, err = c.Write(out)
		if err == nil {
			err = resp.Read(c.br)
		}
		if err != nil {
			_ = c.Close()
			if reused && attempt == 0 {
				resp.Reset()
				continue
			}
			return fmt.Errorf("cluster: forward to %s: %w", o.addr, err)
		}
		if resp.ConnectionClose() || c.br.Buffered() > 0 {
			_ = c.Close()
		} else {
			f.put(o.key, c)
		}
		return nil
	}
}

func (f *Forwarder) get(o owner) (*fwdConn, bool, error) {
	f.mu.Lock()
	for list := f.idle[o.key]; len(list) > 0; list = f.idle[o.key] {
		c := list[len(list)-1]
		f.idle[o.key] = list[:len(list)-1]
		if time.Since(c.used) < 30*time.Second { // the owner closes idle connections after 60s
			f.mu.Unlock()
			return c, true, nil
		}
		_ = c.Close()
	}
	f.mu.Unlock()
	nc, err := net.DialTimeout(o.network, o.addr, 2*time.Second)
	if err != nil {
		return nil, false, fmt.Errorf("cluster: dial %s: %w", o.addr, err)
	}
	return &fwdConn{Conn: nc, br: bufio.NewReaderSize(nc, 8<<10)}, false, nil
}

func (f *Forwarder) put(key string, c *fwdConn) {
	c.used = time.Now()
	_ = c.SetDeadline(time.Time{})
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.idle[key]) >= 64 {
		_ = c.Close()
		return
	}
	f.idle[key] = append(f.idle[key], c)
}

// Close closes the idle connections.
func (f *Forwarder) Close() {
	f.handoffs.close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for j, list := range f.idle {
		for _, c := range list {
			_ = c.Close()
		}
		delete(f.idle, j)
	}
}

// relay turns the owner's answer into the response for the client (hop-by-hop and length
// headers are recomputed by the local server).
func relay(resp *fasthttp.Response) *conn.Response {
	out := &conn.Response{Status: resp.StatusCode(), ContentType: string(resp.Header.ContentType())}
	for k, v := range resp.Header.All() {
		switch strings.ToLower(string(k)) {
		case "content-length", "content-type", "connection", "date", "server", "transfer-encoding", "keep-alive":
			continue
		}
		out.Header = append(out.Header, conn.Header{Name: string(k), Value: string(v)})
	}
	out.Body = [][]byte{append([]byte(nil), resp.Body()...)}
	return out
}

// sessionUnknown is the Engine.IO answer when the owner cannot be reached (it is gone, and so
// is the session).
func sessionUnknown(origin string) *conn.Response {
	r := &conn.Response{Status: 400, ContentType: "application/json",
		Body: [][]byte{engineio.AppendError(nil, engineio.ErrSessionIDUnknown)}}
	if origin != "" {
		r.Header = []conn.Header{{Name: "Access-Control-Allow-Origin", Value: origin}, {Name: "Access-Control-Allow-Credentials", Value: "true"}}
	}
	return r
}

// RunDir is the directory of the sockets: <dataDir>/run.
func RunDir(dataDir string) string { return filepath.Join(dataDir, "run") }

// WorkerSocket is worker index's socket in runDir.
func WorkerSocket(runDir string, index int) string {
	return filepath.Join(runDir, "worker-"+strconv.Itoa(index)+".sock")
}

// LinkSocket and APISocket are the parent's sockets in runDir.
func LinkSocket(runDir string) string { return filepath.Join(runDir, "link.sock") }

// APISocket is the parent's REST API socket in runDir.
func APISocket(runDir string) string { return filepath.Join(runDir, "api.sock") }
