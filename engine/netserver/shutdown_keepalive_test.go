package netserver_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/netserver"
)

// Shutdown closes a kept-alive HTTP connection between two requests too (a client's pooled
// connection to a stopped server must not hang its next request while the process lives on).
func TestShutdownClosesIdleKeepAlive(t *testing.T) {
	srv, addr := start(t, netserver.Config{})
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /no-such-route HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp := readResponse(t, c)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.Close {
		t.Fatalf("the answer closed the connection (%d): nothing kept alive to test", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx, conn.ReasonShutdown)
	waitClosed(t, c, 2*time.Second)
}
