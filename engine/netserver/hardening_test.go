package netserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/engine/transport"
	"github.com/pushgate/pushgate/protocol/wsframe"
)

// TestWebSocketInvalidUTF8ClosesWith1007: a text message must be UTF-8 (RFC 6455 §8.1); one that
// is not, whole or reassembled from fragments split inside a character, is closed with 1007.
func TestWebSocketInvalidUTF8ClosesWith1007(t *testing.T) {
	_, addr := start(t, netserver.Config{})
	mask := [4]byte{1, 2, 3, 4}
	for name, frames := range map[string][][]byte{
		"one frame": {wsframe.AppendMaskedFrame(nil, ws.OpText, []byte("42[\"x\",\"\xff\xfe\"]"), mask)},
		"fragments": {
			frame(ws.Header{OpCode: ws.OpText, Length: 5, Masked: true, Mask: mask}, []byte("42[\"\xc3")),
			wsframe.AppendMaskedFrame(nil, ws.OpContinuation, []byte("\x28\"]"), mask), // \xc3\x28: invalid
		},
	} {
		c, br := wsConnect(t, addr)
		readFrame(t, br) // open packet
		for _, f := range frames {
			c.Write(f)
		}
		for {
			h, p := readFrame(t, br)
			if h.OpCode == ws.OpClose {
				if code, _, _ := wsframe.ParseClose(p); code != ws.StatusInvalidFramePayloadData {
					t.Fatalf("%s: close code = %d, want 1007", name, code)
				}
				break
			}
		}
		waitClosed(t, c, 2*time.Second)
	}
}

// frame is a masked frame with header h (Fin false unless set) and payload p.
func frame(h ws.Header, p []byte) []byte {
	q := append([]byte(nil), p...)
	wsframe.Unmask(q, h.Mask)
	return append(wsframe.AppendHeader(nil, h), q...)
}

// TestBareLFHeadGets400Promptly: a request whose lines end in a bare LF is refused at once with
// 400, not left waiting for the header timeout (RFC 9112 §2.2 lets a server reject it).
func TestBareLFHeadGets400Promptly(t *testing.T) {
	_, addr := start(t, netserver.Config{HeaderTimeout: 10 * time.Second})
	c := dial(t, addr)
	began := time.Now()
	c.Write([]byte("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\nHost: x\n\n"))
	resp := readResponse(t, c)
	if resp.StatusCode != 400 || time.Since(began) > 5*time.Second {
		t.Fatalf("status %d after %v", resp.StatusCode, time.Since(began))
	}
	waitClosed(t, c, 2*time.Second)
}

type openNamespace struct{}

func (openNamespace) Authorize(*transport.Socket, []byte) error        { return nil }
func (openNamespace) OnConnect(*transport.Socket)                      {}
func (openNamespace) OnEvent(*transport.Socket, *transport.Event)      {}
func (openNamespace) OnDisconnect(*transport.Socket, conn.CloseReason) {}

// TestNamespaceLimitSaysSo: past MaxNamespaces joined on one Engine.IO connection, a CONNECT is
// refused with a limit message — whether or not the name exists — not "Invalid namespace".
func TestNamespaceLimitSaysSo(t *testing.T) {
	sio := transport.NewSocketServer(transport.SocketConfig{MaxNamespaces: 2, ConnectTimeout: time.Second,
		Engine: transport.EngineConfig{PingInterval: time.Second, PingTimeout: time.Second}})
	sio.HandleDynamic(func(name string) transport.Namespace {
		if strings.HasPrefix(name, "/ok") {
			return openNamespace{}
		}
		return nil
	})
	_, addr := serveOn(t, netserver.Config{}, netserver.Routes{Mounts: []netserver.Mount{{Prefix: "/socket.io/", Handler: sio}}})
	c, br := wsConnect(t, addr)
	readFrame(t, br) // open packet
	mask := [4]byte{5, 6, 7, 8}
	send := func(s string) string {
		c.Write(wsframe.AppendMaskedFrame(nil, ws.OpText, []byte(s), mask))
		_, p := readFrame(t, br)
		return string(p)
	}
	for _, n := range []string{"/ok1", "/ok2"} {
		if r := send("40" + n + ","); !strings.HasPrefix(r, "40"+n+",{\"sid\"") {
			t.Fatalf("join %s: %q", n, r)
		}
	}
	for _, n := range []string{"/ok3", "/unknown"} {
		r := send("40" + n + ",")
		if !strings.HasPrefix(r, "44"+n+",") || !strings.Contains(r, "Too many namespaces") {
			t.Errorf("CONNECT %s past the limit: %q, want a CONNECT_ERROR saying too many namespaces", n, r)
		}
	}
}
