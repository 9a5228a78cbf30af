package netserver_test

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/pushgate/pushgate/engine/netserver"
	"github.com/valyala/fasthttp"
)

// Request contexts are reused (parsed into, then handed to the fallback handler without a copy):
// nothing of one request — headers, user values, the answer — shows in the next, a body the
// handler keeps stays intact after later requests, and the remote address is the client's.
func TestFallbackContextsCarryNothingOver(t *testing.T) {
	var mu sync.Mutex
	var kept [][]byte
	var remotes []string
	routes := netserver.Routes{Fallback: func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		kept = append(kept, ctx.PostBody()) // kept past the handler, as a decoded event may be
		remotes = append(remotes, ctx.RemoteAddr().String())
		mu.Unlock()
		if ctx.UserValue("seen") != nil || len(ctx.Request.Header.Peek("X-First")) > 0 && string(ctx.Path()) != "/first" {
			ctx.SetStatusCode(500)
			ctx.SetBodyString("state of an earlier request")
			return
		}
		ctx.SetUserValue("seen", true)
		if string(ctx.Path()) == "/first" {
			ctx.Response.Header.Set("X-First", "1")
			ctx.SetStatusCode(201)
		}
		ctx.SetBodyString("answer to " + string(ctx.Path()))
	}}
	_, addr := serveOn(t, netserver.Config{}, routes)
	c := dial(t, addr)
	for i, path := range []string{"/first", "/second", "/third"} {
		extra := ""
		if i == 0 {
			extra = "X-First: 1\r\n"
		}
		body := fmt.Sprintf("body-%d-%s", i, strings.Repeat("x", 10*i))
		if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s", path, extra, len(body), body); err != nil {
			t.Fatal(err)
		}
		resp := readResponse(t, c)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		wantStatus := 200
		if i == 0 {
			wantStatus = 201
		}
		if resp.StatusCode != wantStatus || string(b) != "answer to "+path {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, b)
		}
		if i > 0 && resp.Header.Get("X-First") != "" {
			t.Fatalf("%s: the first answer's header is in this one", path)
		}
	}
	for i := 3; i < 200; i++ { // later requests reuse the connection's input buffers
		body := fmt.Sprintf("body-%d-%s", i, strings.Repeat("y", 1000))
		if _, err := fmt.Fprintf(c, "POST /more HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			t.Fatal(err)
		}
		resp := readResponse(t, c)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	for i, b := range kept[:3] {
		if want := fmt.Sprintf("body-%d-%s", i, strings.Repeat("x", 10*i)); string(b) != want {
			t.Fatalf("kept body %d is %q, want %q", i, b, want)
		}
	}
	if local := c.LocalAddr().String(); remotes[0] != local || remotes[2] != local {
		t.Fatalf("remote addresses %v, want %s", remotes, local)
	}
}
