package engine_test

// End-to-end tests of the product features against the in-process server (engine.New + Run on a
// loopback port), at the protocol level: SSE through net/http + protocol/sse.Parser, Socket.IO
// through a raw gobwas/ws WebSocket client + the protocol/engineio and protocol/socketio codecs,
// tokens from devissuer.Load(dataDir).Mint (and forged ones signed here).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/protocol/socketio"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// Configuration PATCH UPDATE/REPLACE/DELETE effects on live subscribers of both transports.
func TestE2EConfigChanges(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "cfg", `{"id":"cfg","name":"C","events":[{"namespace":"cfg","name":"e","map":{"v1":"payload.a"}}]}`)
	e.stream(e.demo, "demo", "keep", `{"id":"keep","name":"K","events":[{"namespace":"cfg","name":"e"}]}`)
	s := e.mustSSE("/stream/v1/streams/cfg", e.demo)
	c := e.subscribeSIO("/demo", e2eQ("stream", "cfg"), map[string]any{"token": e.demo})
	e.publish(e.demo, "cfg", "e", `"payload":{"a":1}`)
	if d := s.next(t).Data; !strings.Contains(d, `"v1":1`) {
		t.Errorf("before UPDATE: %s", d)
	}
	c.event()
	// UPDATE: the live subscriptions follow the new projection
	e.patch(e.demo, "", `{"operation":"UPDATE","update":{"cfg":{"events":[{"namespace":"cfg","name":"e","map":{"v2":"payload.a"}}]}}}`)
	waitfor.True(t, e2eWait, "the UPDATE applied", func() bool {
		_, b := e.do("GET", "/stream/v1/streams?tenant=demo", e.demo, "", nil)
		return strings.Contains(string(b), `"v2"`)
	})
	e.publish(e.demo, "cfg", "e", `"payload":{"a":2}`)
	if d := s.next(t).Data; !strings.Contains(d, `"v2":2`) || strings.Contains(d, "v1") {
		t.Errorf("SSE after UPDATE: %s", d)
	}
	if _, a := c.event(); !strings.Contains(a, `"v2":2`) {
		t.Errorf("Socket.IO after UPDATE: %s", a)
	}
	// DELETE: pushgate:close / event: close, then the transport closes
	keep := e.mustSSE("/stream/v1/streams/keep", e.demo)
	e.patch(e.demo, "", `{"operation":"DELETE","property":"cfg"}`)
	ev := s.next(t)
	if ev.Type != "close" || ev.Data != `{"reason":"stream-deleted"}` {
		t.Errorf("SSE after DELETE: %+v", ev)
	}
	if n, a := c.event(); n != "pushgate:close" || a != `{"reason":"stream-deleted"}` {
		t.Errorf("Socket.IO after DELETE: %s %s", n, a)
	}
	for what, ch := range map[string]chan struct{}{"SSE": s.closed, "Socket.IO": c.closed} {
		select {
		case <-ch:
		case <-time.After(e2eWait):
			t.Errorf("%s transport not closed after stream-deleted", what)
		}
	}
	if _, code := e.connectErr("/demo", e2eQ("stream", "cfg"), nil, map[string]any{"token": e.demo}); code != "not_found" {
		t.Errorf("reconnect after DELETE: %s", code)
	}
	// REPLACE: keep disappears, new appears
	e.patch(e.demo, "", `{"operation":"REPLACE","configuration":{"fresh":{"id":"fresh","name":"F","events":[{"namespace":"cfg","name":"e"}]}}}`)
	if ev := keep.next(t); ev.Type != "close" || ev.Data != `{"reason":"stream-deleted"}` {
		t.Errorf("SSE after REPLACE: %+v", ev)
	}
	e.waitListed(e.demo, "demo", "fresh", true)
	e.waitListed(e.demo, "demo", "keep", false)
	fresh := e.mustSSE("/stream/v1/streams/fresh", e.demo)
	e.publish(e.demo, "cfg", "e", `"payload":{"a":3}`)
	fresh.next(t)
	// permission-revoked
	e.stream(e.demo, "demo", "roles", `{"id":"roles","name":"R","subscriberRoles":["reader"],"events":[{"namespace":"cfg","name":"e"}]}`)
	reader := e.mint("demo", "reader", "", time.Hour)
	rc := e.subscribeSIO("/demo", e2eQ("stream", "roles"), map[string]any{"token": reader})
	rs := e.mustSSE("/stream/v1/streams/roles", reader)
	e.patch(e.demo, "", `{"operation":"UPDATE","update":{"roles":{"subscriberRoles":[]}}}`)
	if n, a := rc.event(); n != "pushgate:close" || a != `{"reason":"permission-revoked"}` {
		t.Errorf("Socket.IO permission-revoked: %s %s", n, a)
	}
	if ev := rs.next(t); ev.Type != "close" || ev.Data != `{"reason":"permission-revoked"}` {
		t.Errorf("SSE permission-revoked: %+v", ev)
	}
	// bad PATCH bodies
	for _, b := range []string{`{"operation":"MERGE"}`, `{bad`, `{"operation":"UPDATE","update":{"x":{"name":"no id"}}}`} {
		if st, body := e.do("PATCH", e2eConfigPath, e.demo, b, nil); st != 400 {
			t.Errorf("PATCH %s: %d %s", b, st, body)
		}
	}
}

// SSE Last-Event-ID replay and history gap; ingest validation.
func TestE2EReplayAndIngest(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "rp", `{"id":"rp","name":"R","events":[{"namespace":"rp","name":"e"}]}`)
	s := e.mustSSE("/stream/v1/streams/rp", e.demo)
	var ids []string
	for i := 1; i <= 3; i++ {
		ids = append(ids, e.publish(e.demo, "rp", "e", fmt.Sprintf(`"payload":{"n":%d}`, i)))
	}
	for i := 0; i < 3; i++ {
		if ev := s.next(t); ev.ID != ids[i] {
			t.Errorf("event %d id %s, want %s", i, ev.ID, ids[i])
		}
	}
	s.close()
	for i := 4; i <= 6; i++ {
		ids = append(ids, e.publish(e.demo, "rp", "e", fmt.Sprintf(`"payload":{"n":%d}`, i)))
	}
	r, st, body := e.openSSE("/stream/v1/streams/rp", map[string]string{"Authorization": "Bearer " + e.demo, "Last-Event-ID": ids[2]})
	if r == nil {
		t.Fatalf("resume: %d %s", st, body)
	}
	ids = append(ids, e.publish(e.demo, "rp", "e", `"payload":{"n":7}`))
	for i := 3; i < 7; i++ {
		ev := r.next(t)
		if ev.ID != ids[i] || !strings.Contains(ev.Data, fmt.Sprintf(`"n":%d`, i+1)) {
			t.Errorf("resumed event %d: %+v", i, ev)
		}
	}
	epoch := strings.SplitN(ids[0], "-", 2)[0]
	for _, last := range []string{"1-1", "garbage", "0-0", epoch + "x-1"} {
		g, st, body := e.openSSE("/stream/v1/streams/rp", map[string]string{"Authorization": "Bearer " + e.demo, "Last-Event-ID": last})
		if g == nil {
			t.Fatalf("gap %s: %d %s", last, st, body)
		}
		if ev := g.next(t); ev.Type != "reset" || ev.Data != `{"reason":"history-gap"}` {
			t.Errorf("Last-Event-ID %q: first event %+v, want reset history-gap", last, ev)
		}
		id := e.publish(e.demo, "rp", "e", `"payload":{"n":0}`)
		if ev := g.next(t); ev.ID != id {
			t.Errorf("after reset: %+v", ev)
		}
		g.close()
	}
	// ingest validation
	for what, b := range map[string]string{
		"missing namespace": `{"name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{}}`,
		"bad timestamp":     `{"namespace":"a","name":"e","timestamp":"yesterday","payload":{}}`,
		"array payload":     `{"namespace":"a","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":[1]}`,
		"invalid JSON":      `{"namespace":`,
	} {
		st, body := e.do("POST", "/event/v1/events", e.demo, b, nil)
		var eb struct{ ErrorMessage string }
		if st != 400 || json.Unmarshal(body, &eb) != nil || eb.ErrorMessage == "" {
			t.Errorf("%s: %d %s", what, st, body)
		}
	}
	big := `{"namespace":"a","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{"x":"` + strings.Repeat("x", 1<<20) + `"}}`
	if st, body := e.do("POST", "/event/v1/events", e.demo, big, nil); st != 413 {
		t.Errorf("> 1 MiB: %d %.200s", st, body)
	}
}

// Many SSE subscribers each receive every event exactly once, in order; Socket.IO too; then the
// goroutine count returns to its baseline.
func TestE2EFanOutAndGoroutines(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "fan", `{"id":"fan","name":"F","events":[{"namespace":"fan","name":"e"}]}`)
	baseline := e2eSettledGoroutines()

	const nSSE, nSIO, nEvents = 200, 50, 100
	sses := make([]*e2eSSE, nSSE)
	for i := range sses {
		sses[i] = e.mustSSE("/stream/v1/streams/fan", e.demo)
	}
	sios := make([]*e2eSIO, nSIO)
	for i := range sios {
		sios[i] = e.subscribeSIO("/demo", e2eQ("stream", "fan"), map[string]any{"token": e.demo})
	}
	ids := make([]string, nEvents)
	for i := range ids {
		ids[i] = e.publish(e.demo, "fan", "e", fmt.Sprintf(`"payload":{"i":%d}`, i))
	}
	end := e.publish(e.demo, "fan", "e", `"payload":{"i":-1}`)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(f string, a ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(f, a...))
		mu.Unlock()
	}
	for k, s := range sses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i <= nEvents; i++ {
				select {
				case ev := <-s.events:
					want := end
					if i < nEvents {
						want = ids[i]
					}
					if ev.ID != want {
						fail("SSE subscriber %d: event %d id %s, want %s", k, i, ev.ID, want)
						return
					}
				case <-time.After(10 * time.Second):
					fail("SSE subscriber %d: only %d events", k, i)
					return
				}
			}
		}()
	}
	for k, c := range sios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i <= nEvents; i++ {
				select {
				case p := <-c.packets:
					want := -1
					if i < nEvents {
						want = i
					}
					if !strings.Contains(p.Data, fmt.Sprintf(`"payload":{"i":%d}`, want)) {
						fail("Socket.IO subscriber %d: event %d = %s", k, i, p.Data)
						return
					}
				case <-time.After(10 * time.Second):
					fail("Socket.IO subscriber %d: only %d events", k, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	// nothing after the end marker
	extra := 0
	for _, s := range sses {
		extra += len(s.events)
	}
	for _, c := range sios {
		for len(c.packets) > 0 {
			if p := <-c.packets; p.Type == socketio.Event {
				extra++
			}
		}
	}
	if extra != 0 {
		t.Errorf("%d duplicate or unexpected events after the end marker", extra)
	}
	for _, s := range sses {
		s.close()
		<-s.closed
	}
	for _, c := range sios {
		c.close()
		<-c.closed
	}
	http.DefaultClient.CloseIdleConnections()
	const tolerance = 10
	if err := waitfor.Bool(10*time.Second, func() bool { return runtime.NumGoroutine() <= baseline+tolerance }); err != nil {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutines: %d after every client left, baseline %d (+%d tolerance)\n%s", runtime.NumGoroutine(), baseline, tolerance, e2eStackSummary(buf))
	}
	if n := e.srv.SSE.Count(); n != 0 {
		t.Errorf("SSE.Count() = %d after every client left", n)
	}
}

// e2eEngineStacks returns the stacks of the goroutines running pushgate code (for hangs).
func e2eEngineStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "pushgate/engine/") && !strings.Contains(g, "shard).run") && !strings.Contains(g, "heartbeat") && !strings.Contains(g, "Bus).dispatch") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}

// e2eSettledGoroutines waits until the goroutine count stops moving and returns it.
func e2eSettledGoroutines() int {
	http.DefaultClient.CloseIdleConnections()
	last := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(10 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

func e2eStackSummary(b []byte) string {
	counts := map[string]int{}
	for _, g := range strings.Split(string(b), "\n\n") {
		sc := bufio.NewScanner(strings.NewReader(g))
		sc.Scan()
		var frame string
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "/") && !strings.Contains(line, ".go:") {
				frame = line
				break
			}
		}
		counts[frame]++
	}
	var sb strings.Builder
	for f, n := range counts {
		fmt.Fprintf(&sb, "%5d %s\n", n, f)
	}
	return sb.String()
}

// Socket.IO auth:refresh and token expiry at the protocol level.
func TestE2ETokenLifetime(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "life", `{"id":"life","name":"L","events":[{"namespace":"life","name":"e"}]}`)
	short := e.mint("demo", "stream-listener", "u1", 2*time.Second)
	c := e.subscribeSIO("/demo", e2eQ("stream", "life"), map[string]any{"token": short})
	s := e.mustSSE("/stream/v1/streams/life", short)
	longer := e.mint("demo", "stream-listener", "u1", time.Hour)
	c.write("4" + string(socketio.AppendEventAck(nil, "/demo", 7, "auth:refresh", []byte(fmt.Sprintf(`{"token":%q}`, "garbage")))))
	c.write("4" + string(socketio.AppendEventAck(nil, "/demo", 8, "auth:refresh", []byte(fmt.Sprintf(`{"token":%q}`, longer)))))
	acks := map[int64]string{}
	for len(acks) < 2 {
		p := c.next()
		if p.Type == socketio.Ack {
			acks[p.Ack] = p.Data
		}
	}
	if !strings.Contains(acks[7], `"ok":false`) {
		t.Errorf("refresh with garbage: %s", acks[7])
	}
	var ok []struct {
		OK  bool
		Exp int64
	}
	if json.Unmarshal([]byte(acks[8]), &ok) != nil || len(ok) != 1 || !ok[0].OK || ok[0].Exp < time.Now().Add(50*time.Minute).Unix() {
		t.Errorf("refresh ack: %s", acks[8])
	}
	// SSE (no refresh) ends with token-expired; the refreshed socket stays
	ev := s.next(t)
	if ev.Type != "close" || ev.Data != `{"reason":"token-expired"}` {
		t.Errorf("SSE expiry: %+v", ev)
	}
	e.publish(e.demo, "life", "e", "")
	if n, _ := c.event(); n != "life:e" {
		t.Errorf("refreshed socket got %s", n)
	}
	// an unrefreshed socket ends with pushgate:close token-expired
	c2 := e.subscribeSIO("/demo", e2eQ("stream", "life"), map[string]any{"token": e.mint("demo", "stream-listener", "u2", 1*time.Second)})
	if n, a := c2.event(); n != "pushgate:close" || a != `{"reason":"token-expired"}` {
		t.Errorf("expiry: %s %s", n, a)
	}
	select {
	case <-c2.closed:
	case <-time.After(e2eWait):
		t.Error("transport not closed after token-expired")
	}
}

// HTTP header names are case-insensitive (RFC 9110 §5.1): "authorization" (HTTP/2 proxies, curl -H
// "authorization: …") and "Last-Event-Id" (Go's canonical form) must work like their usual spelling.
func TestE2EHeaderNamesCaseInsensitive(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "hc", `{"id":"hc","name":"H","events":[{"namespace":"hc","name":"e"}]}`)
	for _, name := range []string{"authorization", "AUTHORIZATION"} {
		if c, st, body := e.openSSE("/stream/v1/streams/hc", map[string]string{name: "Bearer " + e.demo}); c == nil {
			t.Errorf("SSE with header %q: %d %s, want 200", name, st, body)
		} else {
			c.close()
		}
		if st, body := e.do("GET", "/stream/v1/streams?tenant=demo", "", "", map[string]string{name: "Bearer " + e.demo}); st != 200 {
			t.Errorf("GET /stream/v1/streams with header %q: %d %s, want 200", name, st, body)
		}
	}
	s := e.mustSSE("/stream/v1/streams/hc", e.demo)
	first := e.publish(e.demo, "hc", "e", "")
	s.next(t)
	s.close()
	second := e.publish(e.demo, "hc", "e", "")
	for _, name := range []string{"Last-Event-Id", "last-event-id"} {
		c, st, body := e.openSSE("/stream/v1/streams/hc", map[string]string{"Authorization": "Bearer " + e.demo, name: first})
		if c == nil {
			t.Fatalf("resume: %d %s", st, body)
		}
		select {
		case ev := <-c.events:
			if ev.ID != second {
				t.Errorf("resume with header %q: got %+v, want the missed event %s", name, ev, second)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("resume with header %q: the missed event %s was not replayed", name, second)
		}
		c.close()
	}
}

// Once a client has its acknowledgement (SSE 200 head, Socket.IO CONNECT reply), every event
// published afterwards must reach it: the subscription must be in place before the ack is written.
func TestE2ESubscribedWhenAcknowledged(t *testing.T) {
	e := e2eStart(t, nil)
	e.stream(e.demo, "demo", "ack", `{"id":"ack","name":"A","events":[{"namespace":"ack","name":"e"}]}`)
	lostSSE, lostSIO := 0, 0
	for i := 0; i < 100; i++ {
		s := e.mustSSE("/stream/v1/streams/ack", e.demo)
		c := e.subscribeSIO("/demo", e2eQ("stream", "ack"), map[string]any{"token": e.demo})
		id := e.publish(e.demo, "ack", "e", fmt.Sprintf(`"payload":{"i":%d}`, i))
		select {
		case ev := <-s.events:
			if ev.ID != id {
				lostSSE++
			}
		case <-time.After(2 * time.Second):
			lostSSE++
		}
		select {
		case p := <-c.packets:
			if !strings.Contains(p.Data, fmt.Sprintf(`"i":%d`, i)) {
				lostSIO++
			}
		case <-time.After(2 * time.Second):
			lostSIO++
		}
		s.close()
		c.close()
	}
	if lostSSE+lostSIO > 0 {
		t.Errorf("events published right after the acknowledgement were lost: SSE %d/100, Socket.IO %d/100", lostSSE, lostSIO)
	}
}
