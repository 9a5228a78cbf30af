package netserver_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/fixture"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/transport"
	"github.com/pushgate/pushgate/internal/waitfor"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

// start runs a server with the conformance fixture routes on a free loopback port.
func start(t *testing.T, cfg netserver.Config) (*netserver.Server, string) {
	t.Helper()
	return serveOn(t, cfg, fixture.Routes(transport.SocketConfig{
		Engine:         transport.EngineConfig{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond},
		ConnectTimeout: time.Second,
	}))
}

// serveOn runs a server with routes on a free loopback port until the test ends.
func serveOn(t *testing.T, cfg netserver.Config, routes netserver.Routes) (*netserver.Server, string) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	srv, err := netserver.New(cfg, routes)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx, conn.ReasonShutdown)
	})
	return srv, addr.String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// readResponse reads one HTTP response.
func readResponse(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp
}

// waitClosed asserts the server closes c (EOF or reset) within d.
func waitClosed(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %v", d)
		}
		return
	}
}

// wsConnect opens a WebSocket-only Engine.IO session and returns the connection after the 101.
func wsConnect(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dial(t, addr)
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return c, br
}

// readFrame reads one server frame.
func readFrame(t *testing.T, br *bufio.Reader) (ws.Header, []byte) {
	t.Helper()
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	return h, p
}

func TestGarbageGets400AndClose(t *testing.T) {
	_, addr := start(t, netserver.Config{})
	c := dial(t, addr)
	c.Write([]byte("\x00\x01\x02 GARBAGE \xff\r\n\r\n"))
	resp := readResponse(t, c)
	if resp.StatusCode != 400 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	waitClosed(t, c, 2*time.Second)
}

func TestOversizedHeadGets431(t *testing.T) {
	_, addr := start(t, netserver.Config{MaxHeaderBytes: 1024})
	c := dial(t, addr)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2048)))
	resp := readResponse(t, c)
	if resp.StatusCode != 431 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	waitClosed(t, c, 2*time.Second)
}

func TestSlowlorisHeadIsClosedAtHeaderTimeout(t *testing.T) {
	srv, addr := start(t, netserver.Config{HeaderTimeout: 200 * time.Millisecond})
	c := dial(t, addr)
	c.Write([]byte("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"))
	began := time.Now()
	waitClosed(t, c, 2*time.Second)
	if d := time.Since(began); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the header timeout", d)
	}
	if srv.Stats.HeaderTimeouts.Load() == 0 {
		t.Fatal("header timeout not counted")
	}
}

func TestChunkedBodyRefused(t *testing.T) {
	_, addr := start(t, netserver.Config{})
	c := dial(t, addr)
	c.Write([]byte("POST /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	if resp := readResponse(t, c); resp.StatusCode != 411 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
}

func TestOversizedBodyGets413(t *testing.T) {
	_, addr := start(t, netserver.Config{MaxBodyBytes: 1000})
	c := dial(t, addr)
	c.Write([]byte("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"))
	if resp := readResponse(t, c); resp.StatusCode != 413 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
}

func TestKeepAliveServesSeveralRequests(t *testing.T) {
	_, addr := start(t, netserver.Config{})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		c.Write([]byte("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if !bytes.HasPrefix(body, []byte(`0{"sid":"`)) {
			t.Fatalf("body = %q", body)
		}
	}
}

func TestWebSocketOversizedFrameClosesWith1009(t *testing.T) {
	_, addr := start(t, netserver.Config{MaxMessageBytes: 1000})
	c, br := wsConnect(t, addr)
	readFrame(t, br) // open packet
	c.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, bytes.Repeat([]byte("4"), 2000), [4]byte{1, 2, 3, 4}))
	for {
		h, p := readFrame(t, br)
		if h.OpCode == ws.OpClose {
			code, _, _ := wsframe.ParseClose(p)
			if code != ws.StatusMessageTooBig {
				t.Fatalf("close code = %d", code)
			}
			break
		}
	}
	waitClosed(t, c, 2*time.Second)
}

func TestWebSocketUnmaskedFrameClosesWith1002(t *testing.T) {
	_, addr := start(t, netserver.Config{})
	c, br := wsConnect(t, addr)
	readFrame(t, br)
	c.Write(wsframe.AppendFrame(nil, ws.OpText, []byte("40")))
	for {
		h, p := readFrame(t, br)
		if h.OpCode == ws.OpClose {
			if code, _, _ := wsframe.ParseClose(p); code != ws.StatusProtocolError {
				t.Fatalf("close code = %d", code)
			}
			return
		}
	}
}

func TestFragmentedMessageIsReassembled(t *testing.T) {
	_, addr := start(t, netserver.Config{})
	c, br := wsConnect(t, addr)
	readFrame(t, br)
	mask := [4]byte{9, 8, 7, 6}
	first := wsframe.AppendHeader(nil, ws.Header{OpCode: ws.OpText, Length: 1, Masked: true, Mask: mask})
	p := []byte("4")
	wsframe.Unmask(p, mask)
	c.Write(append(first, p...))
	c.Write(wsframe.AppendMaskedFrame(nil, ws.OpContinuation, []byte("0"), mask))
	_, reply := readFrame(t, br)
	if !bytes.HasPrefix(reply, []byte(`40{"sid":"`)) {
		t.Fatalf("reply = %q", reply)
	}
}

// A connection that sends a truncated frame and vanishes must not disturb another session.
func TestTruncatedFrameDoesNotAffectOthers(t *testing.T) {
	srv, addr := start(t, netserver.Config{})
	good, gbr := wsConnect(t, addr)
	readFrame(t, gbr)
	bad, bbr := wsConnect(t, addr)
	readFrame(t, bbr)
	frame := wsframe.AppendMaskedFrame(nil, ws.OpText, []byte("40"), [4]byte{1, 1, 1, 1})
	bad.Write(frame[:3])
	bad.Close()
	good.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, []byte("40"), [4]byte{1, 1, 1, 1}))
	_, reply := readFrame(t, gbr)
	if !bytes.HasPrefix(reply, []byte("40{")) {
		t.Fatalf("healthy session got %q", reply)
	}
	waitfor.Check(t, 2*time.Second, func() error {
		if n := srv.Stats.Conns.Load(); n != 1 {
			return fmt.Errorf("conns = %d, want 1", n)
		}
		return nil
	})
}

func TestConnectionLimitAnswers503(t *testing.T) {
	_, addr := start(t, netserver.Config{MaxConns: 1})
	first := dial(t, addr)
	_ = first
	waitfor.Check(t, 2*time.Second, func() error {
		c := dial(t, addr)
		c.Write([]byte("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil && resp.StatusCode == 503 {
			return nil
		}
		return fmt.Errorf("second connection not refused: %v %v", resp, err)
	})
}

func TestPerIPLimitAnswers503(t *testing.T) {
	srv, addr := start(t, netserver.Config{MaxConnsPerIP: 2})
	dial(t, addr)
	dial(t, addr)
	c := dial(t, addr)
	resp := readResponse(t, c)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third connection: %d %v", resp.StatusCode, resp.Header)
	}
	if srv.Stats.RejectedIP.Load() != 1 {
		t.Fatalf("RejectedIP = %d", srv.Stats.RejectedIP.Load())
	}
}

func TestConnectRateAnswers429(t *testing.T) {
	srv, addr := start(t, netserver.Config{ConnectRate: 1, ConnectBurst: 2})
	dial(t, addr)
	dial(t, addr)
	c := dial(t, addr)
	resp := readResponse(t, c)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("third connection: %d %v", resp.StatusCode, resp.Header)
	}
	if srv.Stats.RejectedRate.Load() != 1 {
		t.Fatalf("RejectedRate = %d", srv.Stats.RejectedRate.Load())
	}
}
