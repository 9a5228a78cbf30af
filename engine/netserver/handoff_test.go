package netserver_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/pushgate/pushgate/internal/waitfor"
)

type handlerFunc func(r *conn.Request, l conn.Link) conn.WSHandler

func (f handlerFunc) ServeRequest(r *conn.Request, l conn.Link) conn.WSHandler {
	return f(r, l)
}

func serveRoutes(t *testing.T, h handlerFunc) (*netserver.Server, string) {
	t.Helper()
	return serveOn(t, netserver.Config{}, netserver.Routes{Mounts: []netserver.Mount{{Prefix: "/", Handler: h}}})
}

func text(status int, s string) *conn.Response {
	return &conn.Response{Status: status, ContentType: "text/plain", Body: [][]byte{[]byte(s)}}
}

// A connection handed off by server A (as one worker does for another's session) is served by
// server B from its first request on, on the same client socket; A reads nothing more from it.
// When the send fails, the client gets the fallback answer instead.
func TestHandOffMovesTheConnection(t *testing.T) {
	b, _ := serveRoutes(t, func(r *conn.Request, l conn.Link) conn.WSHandler {
		l.Respond(text(200, "B "+r.Path))
		return nil
	})
	a, addr := serveRoutes(t, func(r *conn.Request, l conn.Link) conn.WSHandler {
		send := func(fd int) error {
			if r.Path == "/refuse" {
				return errors.New("no receiver")
			}
			dup, err := unix.Dup(fd) // in one process: B's own descriptor, as SCM_RIGHTS gives it
			if err != nil {
				return err
			}
			return b.Adopt(dup, r.RemoteAddr, r.Raw)
		}
		if !l.(conn.Handoff).HandOff(send, text(400, "fallback")) {
			l.Respond(text(500, "not movable"))
		}
		return nil
	})

	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i, path := range []string{"/first", "/second", "/third"} {
		if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(got) != "B "+path {
			t.Fatalf("request %d: %d %q, want B's answer", i, resp.StatusCode, got)
		}
	}
	if n := a.Stats.HandedOff.Load(); n != 1 {
		t.Fatalf("A handed off %d connections, want 1", n)
	}
	if n := b.Stats.Adopted.Load(); n != 1 {
		t.Fatalf("B adopted %d connections, want 1", n)
	}
	// A timeout is reported by the check below, which counts both servers.
	_ = waitfor.Bool(2*time.Second, func() bool { return a.Stats.Conns.Load() == 0 })
	if n, m := a.Stats.Conns.Load(), b.Stats.Conns.Load(); n != 0 || m != 1 {
		t.Fatalf("open connections: A %d, B %d; want 0 and 1", n, m)
	}

	c2 := dial(t, addr)
	if _, err := io.WriteString(c2, "GET /refuse HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp := readResponse(t, c2)
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(got), "fallback") {
		t.Fatalf("failed handoff answered %d %q, want the fallback", resp.StatusCode, got)
	}
	waitClosed(t, c2, 2*time.Second)
	if n := a.Stats.HandedOff.Load(); n != 1 {
		t.Fatalf("A counts %d handoffs after a failed one, want 1", n)
	}
}
