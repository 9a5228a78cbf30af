package engine_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/devissuer"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// One token may hold at most MaxSSEPerToken streams; the next gets 429 with Retry-After, and a
// closed stream frees its place. The verifier's counters reach /metrics.
func TestSSEStreamsPerTokenAreCapped(t *testing.T) {
	srv, _, _ := startServer(t, engine.Config{MaxSSEPerToken: 2})
	iss, err := devissuer.Load(srv.Config().DataDir)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := iss.Mint(devissuer.Claims{Realm: "demo", Roles: []string{"stream-listener"}})
	open := func() *http.Response {
		req, _ := http.NewRequest("GET", srv.URL()+"/stream/v1/streams/news", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	a, b := open(), open()
	defer a.Body.Close()
	if a.StatusCode != 200 || b.StatusCode != 200 {
		t.Fatalf("first two: %d %d", a.StatusCode, b.StatusCode)
	}
	c := open()
	c.Body.Close()
	if c.StatusCode != 429 || c.Header.Get("Retry-After") == "" {
		t.Fatalf("third: %d %v", c.StatusCode, c.Header)
	}
	b.Body.Close()
	waitfor.True(t, 5*time.Second, "a closed stream freeing its place", func() bool {
		d := open()
		d.Body.Close()
		return d.StatusCode == 200 // b's place was freed once the server saw it close
	})
	m := get(t, srv.URL()+"/metrics", "")
	for _, name := range []string{"pushgate_jwks_refreshes_total 1", "pushgate_tokens_verified_total"} {
		if !strings.Contains(m, name) {
			t.Errorf("metrics lack %q", name)
		}
	}
}
