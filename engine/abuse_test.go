package engine_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/protocol/wsframe"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// waitGoroutines polls until the goroutine count is back within tolerance of base.
func waitGoroutines(t *testing.T, base, tolerance int, d time.Duration) {
	t.Helper()
	if err := waitfor.Bool(d, func() bool { return runtime.NumGoroutine() <= base+tolerance }); err != nil {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
	}
}

// malformed inputs, one per layer: HTTP, Engine.IO polling, WebSocket framing, Engine.IO packet,
// Socket.IO packet (including the CVE-2023-30591 shape and absurd attachment counts).
var malformedWS = [][]byte{
	[]byte("abc"),
	[]byte("4abc"),
	[]byte(`42{}`),
	[]byte(`42abc["x"]`),
	[]byte(`42[{"toString":"x"}]`),
	[]byte(`451000000-["x",{"_placeholder":true,"num":0}]`),
	[]byte(`4` + strings.Repeat("[", 10000)),
	[]byte(`42["message"]`), // before CONNECT: invalid state
	[]byte("2"),             // ping from a v4 client
	[]byte(`40/` + strings.Repeat("x", 300) + `,`),
}

func TestMalformedBarrageLeavesHealthyClientsAlone(t *testing.T) {
	srv, _, _ := startServer(t, engine.Config{})
	addr := srv.Addr().String()
	healthy, hbr := subscribeWS(t, addr)
	_ = healthy
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(1, 2))
	seeds := make([]uint64, 400)
	for i := range seeds {
		seeds[i] = rng.Uint64()
	}
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			r := rand.New(rand.NewPCG(seeds[i], 0))
			switch i % 4 {
			case 0: // random bytes as an HTTP head
				junk := make([]byte, 200)
				for j := range junk {
					junk[j] = byte(r.UintN(256))
				}
				c.Write(append(junk, "\r\n\r\n"...))
			case 1: // malformed polling payloads
				c.Write([]byte("POST /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"))
			case 2, 3: // WebSocket then a malformed packet or frame
				c.Write([]byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
				if i%4 == 2 {
					c.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, malformedWS[i/4%len(malformedWS)], [4]byte{1, 2, 3, 4}))
				} else {
					// a frame header claiming 2^62 bytes
					c.Write([]byte{0x81, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4})
				}
			}
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					return // the server closed it: the expected outcome
				}
			}
		}(i)
	}
	wg.Wait()
	// The healthy subscriber still works: publish an event and receive it.
	demo, _ := srv.Store.ResolveTenant("demo")
	ev := fmt.Sprintf(`{"namespace":"n","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{"after":"barrage"}}`)
	publish(t, srv, demo.ID, ev)
	for {
		p := frame(t, hbr)
		if bytes.Contains(p, []byte(`"after":"barrage"`)) {
			break
		}
	}
	waitGoroutines(t, base, 10, 5*time.Second)
}
