package transport

import "testing"

// While corked, packets queued with a long-poll GET waiting stay queued and leave together at
// Uncork: a recovery replay and the CONNECT reply after it reach the client in one payload.
func TestCorkHoldsPollingFlushesUntilUncork(t *testing.T) {
	e := NewEngine(EngineConfig{}, nopHandler{})
	sid := handshake(t, e)
	s := e.lookup(sid)
	l := &fakeLink{}
	e.ServeRequest(get(sid), l) // the GET waits
	s.Cork()
	s.SendText([]byte(`42/demo,["e",1]`))
	s.SendText([]byte(`40/demo,{"sid":"x"}`))
	l.mu.Lock()
	n := len(l.resps)
	l.mu.Unlock()
	if n != 0 {
		t.Fatalf("corked session answered the GET: %q", body(l.last()))
	}
	s.Uncork()
	if r := l.last(); r.Status != 200 || body(r) != "42/demo,[\"e\",1]\x1e40/demo,{\"sid\":\"x\"}" {
		t.Fatalf("after Uncork: %d %q", r.Status, body(r))
	}
}
