package engine_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

// A client sending above --max-inbound-rate is told (pushgate:close {"reason":"rate-limited"}) and
// closed (WebSocket 1008 "rate-limited") once past its one-second burst allowance; a client on the
// same stream keeps receiving events.
func TestInboundFloodIsClosed(t *testing.T) {
	srv, _, _ := startServer(t, engine.Config{MaxInboundRate: 20})
	addr := srv.Addr().String()
	healthy, hbr := subscribeWS(t, addr)
	flood, fbr := subscribeWS(t, addr)
	_ = healthy

	// Within the rate: a burst of 15 and then 5 per second pass.
	for i := 0; i < 15; i++ {
		flood.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, []byte(`42/demo,["noise"]`), [4]byte{9, 9, 9, 9}))
	}
	time.Sleep(300 * time.Millisecond)
	if n := srv.SIO.RateLimited.Load(); n != 0 {
		t.Fatalf("%d sessions rate-limited within the allowance", n)
	}
	// Above it: closed with 1008.
	start := time.Now()
	for i := 0; i < 200; i++ {
		if _, err := flood.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, []byte(`42/demo,["noise"]`), [4]byte{9, 9, 9, 9})); err != nil {
			break // the server closed it already
		}
	}
	var closing []byte
	told := false
	for closing == nil {
		switch p := frame(t, fbr); {
		case bytes.HasPrefix(p, []byte("CLOSE:")):
			closing = p
		case string(p) == `42/demo,["pushgate:close",{"reason":"rate-limited"}]`:
			told = true
		}
	}
	if !told {
		t.Fatal(`no pushgate:close {"reason":"rate-limited"} before the close frame`)
	}
	if code, reason := int(closing[6])<<8|int(closing[7]), string(closing[8:]); code != int(ws.StatusPolicyViolation) || reason != "rate-limited" {
		t.Fatalf("close frame %d %q, want 1008 rate-limited", code, reason)
	}
	if n := srv.SIO.RateLimited.Load(); n != 1 {
		t.Fatalf("rate-limited closes = %d, want 1", n)
	}
	t.Logf("flooding client closed %s after the flood began", time.Since(start).Round(time.Millisecond))

	demo, _ := srv.Store.ResolveTenant("demo")
	publish(t, srv, demo.ID, `{"namespace":"n","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{"after":"flood"}}`)
	for {
		p := frame(t, hbr)
		if strings.Contains(string(p), `"after":"flood"`) {
			return
		}
		if p[0] != '2' { // pings are fine; anything else is not expected
			t.Fatalf("healthy client got %q", p)
		}
	}
}
