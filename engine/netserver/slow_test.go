package netserver_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/protocol/wsframe"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// flood accepts every WebSocket and writes a shared 64 KiB frame to it until the link refuses.
type flood struct{ sent atomic.Int64 }

func (f *flood) ServeRequest(r *conn.Request, l conn.Link) conn.WSHandler { return f }
func (f *flood) OnOpen(l conn.Link) {
	frame := wsframe.AppendFrame(nil, ws.OpBinary, make([]byte, 64<<10))
	go func() {
		for l.Send(frame) == nil {
			f.sent.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
}
func (f *flood) OnMessage(conn.Link, []byte, bool)   {}
func (f *flood) OnClose(conn.Link, conn.CloseReason) {}

func startFlood(t *testing.T, cfg netserver.Config) (*netserver.Server, string, *flood) {
	t.Helper()
	f := &flood{}
	srv, addr := serveOn(t, cfg, netserver.Routes{Mounts: []netserver.Mount{{Prefix: "/", Handler: f}}})
	return srv, addr, f
}

// stalledClient upgrades and then never reads, with a tiny receive buffer.
func stalledClient(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: nil}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	return c
}

func TestSlowConsumerClosedAtByteCap(t *testing.T) {
	srv, addr, f := startFlood(t, netserver.Config{MaxPendingBytes: 512 << 10, WriteTimeout: time.Minute})
	stalledClient(t, addr)
	waitfor.True(t, 5*time.Second, "slow-consumer close", func() bool { return srv.Stats.SlowConsumers.Load() == 1 })
	waitfor.True(t, 2*time.Second, "connection gone", func() bool { return srv.Stats.Conns.Load() == 0 })
	if q := srv.QueuedBytes(); q != 0 {
		t.Fatalf("queued bytes after close = %d", q)
	}
	// The queue held at most the cap: the kernel buffers plus 512 KiB, never the whole flood.
	if n := f.sent.Load(); n > 200 {
		t.Fatalf("sent %d frames before the cap stopped it", n)
	}
}

func TestStalledSocketClosedAtWriteTimeout(t *testing.T) {
	srv, addr, _ := startFlood(t, netserver.Config{MaxPendingBytes: 64 << 20, WriteTimeout: 300 * time.Millisecond})
	stalledClient(t, addr)
	waitfor.True(t, 5*time.Second, "write-timeout close", func() bool { return srv.Stats.WriteTimeouts.Load() == 1 })
	waitfor.True(t, 2*time.Second, "connection gone", func() bool { return srv.Stats.Conns.Load() == 0 })
}
