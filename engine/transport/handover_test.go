package transport

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/conn"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// moverNS accepts every CONNECT and moves its sockets, recording what it was given.
type moverNS struct {
	mu        sync.Mutex
	exported  []string // socket ids
	positions []string // Import's position argument
	states    []string
}

func (n *moverNS) Authorize(*Socket, []byte) error        { return nil }
func (n *moverNS) OnConnect(*Socket)                      {}
func (n *moverNS) OnEvent(*Socket, *Event)                {}
func (n *moverNS) OnDisconnect(*Socket, conn.CloseReason) {}
func (n *moverNS) Export(k *Socket) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.exported = append(n.exported, k.ID)
	return []byte(`{"from":"a"}`), nil
}
func (n *moverNS) Import(k *Socket, st []byte, pos string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.positions, n.states = append(n.positions, pos), append(n.states, string(st))
	return nil
}

func (f *fakeLink) count() (resps, sent int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.resps), len(f.sent)
}

func (f *fakeLink) sentContains(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.sent {
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// joined opens a polling session on e, joins /x and drains the CONNECT reply.
func joined(t testing.TB, e *SocketServer) (string, *Socket) {
	t.Helper()
	open := &fakeLink{}
	e.ServeRequest(get(""), open)
	hs := body(open.last())
	i := strings.Index(hs, `"sid":"`) + 7
	sid := hs[i : i+strings.Index(hs[i:], `"`)]
	post := &conn.Request{Method: "POST", Query: url.Values{"EIO": {"4"}, "transport": {"polling"}, "sid": {sid}}, Body: []byte("40/x,")}
	e.ServeRequest(post, &fakeLink{})
	drain := &fakeLink{}
	e.ServeRequest(get(sid), drain)
	if !strings.HasPrefix(body(drain.last()), "40/x,") {
		t.Fatalf("CONNECT reply: %q", body(drain.last()))
	}
	return sid, e.Sockets(e.lookup(sid))[0]
}

// A polling session of server A upgraded on server B moves to B: A forgets it (a later request
// for it is offered to Forward, which sends it to the new owner); a polling request reaching B
// while the session is on its way waits for it; B runs the probe, and after the upgrade the
// WebSocket gets the packet A had queued; the namespace resumes after the position A recorded
// for the last packet it queued, with the state A's namespace exported.
func TestSessionMovesToTheServerOfItsUpgrade(t *testing.T) {
	nsA, nsB := &moverNS{}, &moverNS{}
	var fwdMu sync.Mutex
	var forwarded []string
	a := NewSocketServer(SocketConfig{Engine: EngineConfig{SIDPrefix: "a.", PingInterval: time.Hour, PingTimeout: time.Hour,
		Migrate: func(string, *conn.Request, func(*Handover, error)) bool { return false },
		Forward: func(sid string, r *conn.Request, l conn.Link) bool {
			fwdMu.Lock()
			defer fwdMu.Unlock()
			forwarded = append(forwarded, sid)
			return true
		}}})
	a.Handle("/x", nsA)
	release := make(chan struct{})
	b := NewSocketServer(SocketConfig{Engine: EngineConfig{SIDPrefix: "b.", PingInterval: time.Hour, PingTimeout: time.Hour,
		Migrate: func(sid string, r *conn.Request, done func(*Handover, error)) bool {
			go func() {
				<-release
				done(a.Export(sid))
			}()
			return true
		}}})
	b.Handle("/x", nsB)

	sid, k := joined(t, a)
	k.DeliverAt(Prepare([]byte(`42/x,["e",1]`)), "p1")
	polled := &fakeLink{}
	a.ServeRequest(get(sid), polled)
	if !strings.Contains(body(polled.last()), `["e",1]`) {
		t.Fatalf("poll on A: %q", body(polled.last()))
	}
	k.DeliverAt(Prepare([]byte(`42/x,["e",2]`)), "p2") // queued on A: no GET waits

	up := &conn.Request{Method: "GET", Upgrade: true, Query: url.Values{"EIO": {"4"}, "transport": {"websocket"}, "sid": {sid}}}
	h := b.ServeRequest(up, &fakeLink{})
	if h == nil {
		t.Fatal("B refused the upgrade of A's session")
	}
	ws := &fakeLink{}
	h.OnOpen(ws)
	h.OnMessage(ws, []byte("2probe"), false)
	parked := &fakeLink{}
	b.ServeRequest(get(sid), parked) // reaches B before the session: waits
	if n, _ := parked.count(); n != 0 || !b.Has(sid) {
		t.Fatalf("a poll for a session on its way to B: %d responses (Has %v), want it parked", n, b.Has(sid))
	}
	close(release)
	waitfor.True(t, 5*time.Second, "3probe from B", func() bool { return ws.sentContains("3probe") })
	waitfor.True(t, 5*time.Second, "the parked poll answered", func() bool { n, _ := parked.count(); return n == 1 })
	if got := body(parked.last()); got != "6" {
		t.Fatalf("parked poll during the upgrade: %q, want a noop", got)
	}
	if a.Has(sid) {
		t.Fatal("A still holds the session after handing it over")
	}
	k.DeliverAt(Prepare([]byte(`42/x,["e",3]`)), "p3") // too late on A: dropped, B resumes after p2
	h.OnMessage(ws, []byte("5"), false)
	waitfor.True(t, 5*time.Second, "event 2 on B's WebSocket", func() bool { return ws.sentContains(`["e",2]`) })
	if ws.sentContains(`["e",1]`) || ws.sentContains(`["e",3]`) {
		t.Fatal("B sent an event A had delivered, or one A got after the move")
	}
	nsB.mu.Lock()
	pos, st := nsB.positions, nsB.states
	nsB.mu.Unlock()
	if len(pos) != 1 || pos[0] != "p2" || st[0] != `{"from":"a"}` {
		t.Fatalf("B resumed the socket at %v with %v, want p2 and A's state", pos, st)
	}
	if socks := b.Sockets(b.lookup(sid)); len(socks) != 1 || socks[0].ID != k.ID || socks[0].Namespace != "/x" {
		t.Fatalf("B's sockets for the session: %+v, want A's socket %s on /x", socks, k.ID)
	}
	a.ServeRequest(get(sid), &fakeLink{})
	fwdMu.Lock()
	defer fwdMu.Unlock()
	if len(forwarded) != 1 || forwarded[0] != sid {
		t.Fatalf("a poll reaching A after the move was offered to Forward %v times, want once", forwarded)
	}
}

// A long-poll pending on the old owner when the session leaves is answered with a noop (the
// client polls again and reaches the new owner), as at the start of an upgrade.
func TestExportAnswersThePendingPoll(t *testing.T) {
	a := NewSocketServer(SocketConfig{Engine: EngineConfig{SIDPrefix: "a.", PingInterval: time.Hour, PingTimeout: time.Hour}})
	a.Handle("/x", &moverNS{})
	sid, _ := joined(t, a)
	waiting := &fakeLink{}
	a.ServeRequest(get(sid), waiting)
	if n, _ := waiting.count(); n != 0 {
		t.Fatal("the poll was answered before the export")
	}
	h, err := a.Export(sid)
	if err != nil || h.SID != sid || len(h.Sockets) != 1 {
		t.Fatalf("Export: %+v, %v", h, err)
	}
	if n, _ := waiting.count(); n != 1 || body(waiting.last()) != "6" {
		t.Fatalf("pending poll after the export: %d responses", n)
	}
	if _, err := a.Export(sid); err != ErrNoSession {
		t.Fatalf("second Export: %v, want ErrNoSession", err)
	}
}

// BenchmarkSessionHandover is the CPU of one move on both sides, without the network: the
// owner's Export and JSON encoding (what the internal route answers), the new owner's decoding
// and adoption (one socket, two queued packets).
func BenchmarkSessionHandover(b *testing.B) {
	cfg := func(prefix string) SocketConfig {
		return SocketConfig{Engine: EngineConfig{SIDPrefix: prefix, PingInterval: time.Hour, PingTimeout: time.Hour}}
	}
	from, to := NewSocketServer(cfg("a.")), NewSocketServer(cfg("b."))
	from.Handle("/x", &moverNS{})
	to.Handle("/x", &moverNS{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sid, k := joined(b, from)
		k.DeliverAt(Prepare([]byte(`42/x,["e",{"n":1}]`)), "p1")
		k.DeliverAt(Prepare([]byte(`42/x,["e",{"n":2}]`)), "p2")
		b.StartTimer()
		h, err := from.Export(sid)
		if err != nil {
			b.Fatal(err)
		}
		wire, err := json.Marshal(h)
		if err != nil {
			b.Fatal(err)
		}
		var got Handover
		if err := json.Unmarshal(wire, &got); err != nil {
			b.Fatal(err)
		}
		s, err := to.adopt(&got)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close(conn.ReasonServerClose)
		b.StartTimer()
	}
}
