package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/protocol/wsframe"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// startServer runs an embedded server on a free port with one public stream "news" in the demo
// tenant.
func startServer(t *testing.T, cfg engine.Config) (*engine.Server, context.CancelFunc, chan error) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	srv, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	demo, ok := srv.Store.ResolveTenant("demo")
	if !ok {
		t.Fatal("no demo tenant")
	}
	_, err = srv.Store.PatchConfig(demo.ID, []byte(`{"operation":"UPDATE","update":{"news":{"id":"news","name":"News","publicSubscribe":true,"subscriberRoles":[],"events":[{"namespace":"n","name":"e"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})
	waitfor.True(t, 3*time.Second, "the server ready", func() bool {
		resp, err := http.Get(srv.URL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	// The PATCH above reaches the registry through the configuration watcher started by Run.
	waitfor.True(t, 3*time.Second, "stream news in the registry", func() bool {
		_, ok := srv.Hub.Registry().Lookup(demo.ID, "news")
		return ok
	})
	return srv, cancel, done
}

// subscribeWS connects anonymously to the public stream over WebSocket and returns a frame reader.
func subscribeWS(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("GET /socket.io/?EIO=4&transport=websocket&stream=news HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	frame(t, br) // open
	c.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, []byte("40/demo,"), [4]byte{1, 2, 3, 4}))
	if p := frame(t, br); !bytes.HasPrefix(p, []byte(`40/demo,{"sid"`)) {
		t.Fatalf("connect reply = %q", p)
	}
	return c, br
}

func frame(t *testing.T, br *bufio.Reader) []byte {
	t.Helper()
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	if h.OpCode == ws.OpClose {
		return append([]byte("CLOSE:"), p...)
	}
	return p
}

func TestGracefulDrainTellsClientsAndExits(t *testing.T) {
	srv, cancel, done := startServer(t, engine.Config{DrainTimeout: 600 * time.Millisecond})
	var readers []*bufio.Reader
	for i := 0; i < 5; i++ {
		_, br := subscribeWS(t, srv.Addr().String())
		readers = append(readers, br)
	}
	began := time.Now()
	cancel()
	// readiness turns 503 while draining
	for _, br := range readers {
		for {
			p := frame(t, br)
			if string(p) == "2" { // a ping may come first
				continue
			}
			if !strings.Contains(string(p), `["pushgate:close",{"reason":"shutdown"}]`) {
				t.Fatalf("first frame = %q, want pushgate:close shutdown", p)
			}
			break
		}
		if p := frame(t, br); !bytes.HasPrefix(p, []byte("CLOSE:")) {
			t.Fatalf("after the notice: %q, want a close frame", p)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Fatalf("drain took %v", d)
	}
}

func TestReadyzIs503WhileDraining(t *testing.T) {
	srv, cancel, _ := startServer(t, engine.Config{DrainTimeout: 2 * time.Second})
	subscribeWS(t, srv.Addr().String()) // keeps the drain busy
	url := srv.URL() + "/readyz"
	cancel()
	// the listener closes too, so a refused connection also proves we are out of rotation
	waitfor.True(t, 2*time.Second, "/readyz 503 (or refused) while draining", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return true
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
}

// Every client ended by a drain is counted once in
// pushgate_server_disconnects_total{reason="shutdown"}, Socket.IO and SSE alike (the Socket.IO
// drain used to bypass the end path and was never counted).
func TestDrainCountsEveryShutdown(t *testing.T) {
	srv, cancel, done := startServer(t, engine.Config{DrainTimeout: 300 * time.Millisecond})
	for i := 0; i < 3; i++ {
		subscribeWS(t, srv.Addr().String())
	}
	for i := 0; i < 2; i++ {
		resp, err := http.Get(srv.URL() + "/stream/v1/streams/news?tenant=demo")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("SSE: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
	}
	waitfor.True(t, 3*time.Second, "the condition", func() bool { return srv.Hub.Stats.Subs.Load() == 5 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
	if got := counterValue(t, srv, "pushgate_server_disconnects_total", "reason", "shutdown"); got != 5 {
		t.Fatalf(`pushgate_server_disconnects_total{reason="shutdown"} = %v, want 5`, got)
	}
}

// counterValue reads one labelled series from the server's registry.
func counterValue(t *testing.T, srv *engine.Server, name, label, value string) float64 {
	t.Helper()
	fams, err := srv.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}
