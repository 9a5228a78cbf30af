package push

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/engine/hub"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// SSE streams opened, closed by their clients (while opening, right after, or never), expired by
// their tokens, ended by a configuration change deleting their stream and by a drain, while
// events flow and heartbeats beat — all at once. The close handler runs synchronously (the
// strictest case: netserver runs it on its own goroutine). Checked: no deadlock (stacks dumped),
// no race (-race), the response head is always the first write, at most one close event per
// stream, and nothing is left behind (open streams, hub subscriptions, per-token counts).
func TestSSEStorm(t *testing.T) {
	withS, err := stream.Build(nil, map[string][]byte{testTenant: []byte(
		`{"s":{"id":"s","name":"S","publicSubscribe":true,"events":[{"namespace":"n","name":"e"}]}}`)})
	if err != nil {
		t.Fatal(err)
	}
	withoutS, err := stream.Build(nil, map[string][]byte{testTenant: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Config{Shards: 2}, withS)
	t.Cleanup(func() {
		if !t.Failed() {
			h.Close()
		}
	})
	var tokens atomic.Int64
	d := &Deps{Hub: h, Tenants: oneTenant{}, Stats: &Stats{},
		Verify: func(_ context.Context, tok string) (*auth.Principal, error) {
			n := tokens.Add(1)
			exp := time.Now().Add(time.Hour)
			if n%3 == 0 {
				exp = time.Now().Add(time.Duration(n%5) * time.Millisecond) // expires mid-storm
			}
			return &auth.Principal{Subject: "u" + strconv.FormatInt(n%4, 10), TenantID: testTenant, Expires: exp}, nil
		}}
	s := d.NewSSE(SSEConfig{Heartbeat: -1, MaxPerToken: 1 << 20})

	var running atomic.Bool
	running.Store(true)
	var bg, openers sync.WaitGroup
	bg.Add(3)
	go func() { // the source
		defer bg.Done()
		for i := 0; running.Load(); i++ {
			h.Publish(&source.Event{ID: strconv.Itoa(i), TenantID: testTenant, Namespace: "n", Name: "e",
				JSON: []byte(`{"tenantId":"` + testTenant + `","namespace":"n","name":"e","payload":{}}`)})
			runtime.Gosched()
		}
	}()
	go func() { // configuration changes deleting and restoring the stream
		defer bg.Done()
		for i := 0; running.Load(); i++ {
			if i%2 == 0 {
				h.SetRegistry(withoutS)
			} else {
				h.SetRegistry(withS)
			}
			for range 500 {
				runtime.Gosched()
			}
		}
		h.SetRegistry(withS)
	}()
	go func() { // heartbeats and drain listings
		defer bg.Done()
		for running.Load() {
			s.beat()
			_ = s.Streams()
			runtime.Gosched()
		}
	}()

	var mu sync.Mutex
	var links []*wireLink
	stopAt := time.Now().Add(1500 * time.Millisecond)
	for g := range 4 {
		openers.Add(1)
		go func() {
			defer openers.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for i := 0; i < 1000 && time.Now().Before(stopAt); i++ {
				l := newWireLink(false)
				mu.Lock()
				links = append(links, l)
				mu.Unlock()
				req := tokenRequest()
				switch r.IntN(3) {
				case 0: // the client leaves while the stream is being opened
					var wg sync.WaitGroup
					wg.Add(2)
					go func() { defer wg.Done(); s.ServeRequest(req, l) }()
					go func() { defer wg.Done(); <-l.entered; l.Close(conn.ReasonClientClose) }()
					wg.Wait()
				case 1: // the client leaves soon after
					s.ServeRequest(req, l)
					for range r.IntN(20) {
						runtime.Gosched()
					}
					l.Close(conn.ReasonClientClose)
				default: // the client stays: expiry, a configuration change or the drain ends it
					s.ServeRequest(req, l)
				}
			}
		}()
	}
	all := &sync.WaitGroup{}
	all.Add(1)
	go func() { openers.Wait(); running.Store(false); bg.Wait(); all.Done() }()
	done := make(chan struct{})
	go func() { all.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatal("SSE storm did not finish within 15s: deadlock? (stacks above)")
	}

	for _, k := range s.Streams() { // the drain
		k(conn.ReasonShutdown)
	}
	waitfor.Check(t, 5*time.Second, func() error {
		if n, subs := s.Count(), h.Stats.Subs.Load(); n != 0 || subs != 0 {
			return fmt.Errorf("after the drain: %d open streams, %d hub subscriptions; want 0 and 0", n, subs)
		}
		return nil
	})
	s.mu.Lock()
	left := len(s.perSubject)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d token subjects still counted against MaxPerToken, want 0", left)
	}
	opened := 0
	for i, l := range links {
		w := l.written()
		if len(w) == 0 {
			continue // refused before the head? never: every request is answered
		}
		if !strings.HasPrefix(w[0], "HTTP/1.1 ") {
			t.Fatalf("stream %d: first write %q, want the response head", i, w[0])
		}
		if strings.HasPrefix(w[0], "HTTP/1.1 200") {
			opened++
		}
		closes := 0
		for _, x := range w {
			if strings.HasPrefix(x, "event: close\n") {
				closes++
			}
		}
		if closes > 1 {
			t.Fatalf("stream %d: %d close events, want at most 1: %q", i, closes, w)
		}
	}
	if opened < 50 {
		t.Errorf("only %d of %d streams opened during the storm", opened, len(links))
	}
	t.Logf("%d requests, %d streams opened", len(links), opened)
}
