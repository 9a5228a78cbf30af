package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/transport"
)

// A WebSocket upgrade that lands on an instance other than its session's owner moves the session
// to that instance (doc.go "Many instances"): the instance asks the owner over its internal
// listener, signed like a forwarded request,
//
//	GET /cluster/handover?sid=<sid>&to=<this instance's id>
//
// and the owner exports the session (transport.EngineServer.Export: Engine.IO state, what it
// had queued for the next GET, each socket's namespace, ids, principal, stream, criteria and
// position), forgets it and answers 200 with the transport.Handover as JSON (409 when the
// session cannot move now, 404 when it has none). The new owner adopts it and completes the
// upgrade itself; the socket is never relayed. The old owner remembers where the session went
// (movedTTL) and forwards a late polling request for it there.

// HandoverPath is the internal route that exports a session to another instance.
const HandoverPath = "/cluster/handover"

// movedTTL is how long an old owner forwards polling requests for a session that moved away:
// the client stops polling as soon as its upgrade completes, so a minute covers any straggler.
const movedTTL = time.Minute

// moves remembers the sessions exported to other instances.
type moves struct {
	mu sync.Mutex
	to map[string]movedTo
}

type movedTo struct {
	id    string
	until time.Time
}

func (m *moves) add(sid, id string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.to == nil {
		m.to = map[string]movedTo{}
	}
	if len(m.to)%256 == 0 {
		for k, v := range m.to {
			if now.After(v.until) {
				delete(m.to, k)
			}
		}
	}
	m.to[sid] = movedTo{id: id, until: now.Add(movedTTL)}
}

func (m *moves) remove(sid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.to, sid)
}

func (m *moves) lookup(sid string, now time.Time) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.to[sid]
	if !ok || now.After(v.until) {
		return "", false
	}
	return v.id, true
}

// Migrate implements transport.EngineConfig.Migrate for another instance's session: it fetches
// the session from its owner on its own goroutine and calls done with it.
func (f *Forwarder) Migrate(sid string, r *conn.Request, done func(*transport.Handover, error)) bool {
	if f.self == "" {
		return false // workers move the connection instead (handoff.go)
	}
	o, ok := f.resolve(sid)
	if !ok || o.worker >= 0 {
		return false
	}
	raw := []byte("GET " + HandoverPath + "?sid=" + url.QueryEscape(sid) + "&to=" + url.QueryEscape(f.self) +
		" HTTP/1.1\r\nHost: pushgate\r\nContent-Length: 0\r\n\r\n")
	go func() {
		h, err := f.fetchHandover(o, raw)
		if err != nil {
			f.MigrateFailed.Add(1)
		} else {
			f.MigratedIn.Add(1)
		}
		done(h, err)
	}()
	return true
}

// handoverPatience bounds how long the new owner asks again while the owner answers 409: the
// client probes right after the handshake, often while its CONNECT is still being authorised
// on the owner (a session moves only between two packets).
const handoverPatience = 2 * time.Second

// handoverTimeout bounds one hand-over exchange (the owner answers at once).
const handoverTimeout = 5 * time.Second

func (f *Forwarder) fetchHandover(o owner, raw []byte) (*transport.Handover, error) {
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	for deadline, wait := time.Now().Add(handoverPatience), 5*time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		resp.Reset()
		if err := f.exchangeWithin(o, raw, resp, handoverTimeout); err != nil {
			return nil, err
		}
		if resp.StatusCode() != 409 || time.Now().Add(wait).After(deadline) {
			break
		}
		time.Sleep(wait)
	}
	if resp.StatusCode() != 200 {
		return nil, fmt.Errorf("cluster: hand-over from %s: %d %s", o.addr, resp.StatusCode(), resp.Body())
	}
	var h transport.Handover
	if err := json.Unmarshal(resp.Body(), &h); err != nil {
		return nil, fmt.Errorf("cluster: hand-over from %s: %w", o.addr, err)
	}
	return &h, nil
}

// handoverServer is the owner's side: the HandoverPath route of the internal listener.
type handoverServer struct {
	gate   *Gate
	export func(sid string) (*transport.Handover, error)
	fwd    *Forwarder

	MovedOut atomic.Int64 // sessions exported to another instance
}

// ServeRequest implements conn.HTTPHandler.
func (h *handoverServer) ServeRequest(r *conn.Request, l conn.Link) conn.WSHandler {
	if !h.gate.admit(r, l) {
		return nil
	}
	sid, to := r.Query.Get("sid"), r.Query.Get("to")
	if sid == "" || !ValidInstanceID(to) || to == h.fwd.self {
		answer(l, 400, "sid and to (another instance's id) are required")
		return nil
	}
	// Recorded first: a request that finds the session gone the moment it leaves is forwarded.
	h.fwd.moved.add(sid, to, time.Now())
	ho, err := h.export(sid)
	if err != nil {
		h.fwd.moved.remove(sid)
	}
	switch {
	case errors.Is(err, transport.ErrNoSession):
		answer(l, 404, err.Error())
		return nil
	case err != nil:
		answer(l, 409, err.Error())
		return nil
	}
	body, err := json.Marshal(ho)
	if err != nil { // cannot happen for these types; the session is lost either way
		answer(l, 500, err.Error())
		return nil
	}
	h.MovedOut.Add(1)
	l.Respond(&conn.Response{Status: 200, ContentType: "application/json", Body: [][]byte{body}})
	return nil
}

func answer(l conn.Link, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"errorMessage": msg})
	l.Respond(&conn.Response{Status: status, ContentType: "application/json", Body: [][]byte{b}})
}
