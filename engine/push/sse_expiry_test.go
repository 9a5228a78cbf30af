package push

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/conn"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// newExpiringSSE is newTestSSE whose tokens are all valid and expire at exp (as seen by the
// clock now).
func newExpiringSSE(t *testing.T, exp time.Time, now func() time.Time) *SSE {
	t.Helper()
	s, _ := newTestSSE(t)
	s.d.Now = now
	s.d.Verify = func(context.Context, string) (*auth.Principal, error) {
		return &auth.Principal{Subject: "u", TenantID: testTenant, Expires: exp}, nil
	}
	return s
}

func tokenRequest() *conn.Request {
	r := sseRequest()
	r.Authorization = "Bearer t"
	return r
}

func tokenExpiredEnds(s *SSE) int64 {
	for i, r := range EndReasons {
		if r == "token-expired" {
			return s.d.Stats.Ended[i].Load()
		}
	}
	panic("no token-expired reason")
}

// The expiry timer of a stream is armed on the request goroutine while the connection's close
// handler may already run on another (the client left at once): under -race, the two must not
// touch the timer unsynchronised. Each round opens a stream and closes its connection at the
// same moment.
func TestSSEExpiryArmedWhileClosing(t *testing.T) {
	s := newExpiringSSE(t, time.Now().Add(time.Hour), nil)
	deadline := time.Now().Add(3 * time.Second)
	for i := 0; i < 300 && time.Now().Before(deadline); i++ {
		l := newWireLink(false)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); s.ServeRequest(tokenRequest(), l) }()
		go func() {
			defer wg.Done()
			<-l.entered // the response head is being written: the close handler is set
			l.Close(conn.ReasonClientClose)
		}()
		wg.Wait()
	}
	if n := s.Count(); n != 0 {
		t.Fatalf("Count = %d after every client left, want 0", n)
	}
	if n := s.d.Hub.Stats.Subs.Load(); n != 0 {
		t.Fatalf("hub holds %d subscriptions after every client left, want 0", n)
	}
}

// A stream whose connection closed before its expiry was armed must not be armed at all: the
// timer would fire later on a stream that is gone (counting a "token-expired" end that never
// happened, and keeping the stream's memory until the token's exp).
func TestSSEClosedBeforeExpiryIsNotArmed(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	// The clock says the token is already past its exp when the timer is armed, so an armed
	// timer fires at once.
	s := newExpiringSSE(t, exp, func() time.Time { return exp.Add(time.Second) })
	l := newWireLink(true)
	done := make(chan struct{})
	go func() { s.ServeRequest(tokenRequest(), l); close(done) }()
	<-l.entered
	l.Close(conn.ReasonClientClose) // the close handler runs while Respond is held
	close(l.hold)
	<-done
	// An armed timer with a negative duration runs within microseconds; give it ample time.
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n := tokenExpiredEnds(s); n != 0 {
			t.Fatalf("%d token-expired ends for a stream its client had closed, want 0", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A stream that stays open is ended with "token-expired" at its token's exp.
func TestSSEExpiryEndsOpenStream(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	s := newExpiringSSE(t, exp, func() time.Time { return exp.Add(-20 * time.Millisecond) })
	l := newWireLink(false)
	s.ServeRequest(tokenRequest(), l)
	waitfor.Check(t, 5*time.Second, func() error {
		if ends, open := tokenExpiredEnds(s), s.Count(); ends == 0 || open != 0 {
			return fmt.Errorf("stream not ended at its token's exp: ends=%d open=%d", ends, open)
		}
		return nil
	})
	got := l.written()
	if last := got[len(got)-1]; last != "event: close\ndata: {\"reason\":\"token-expired\"}\n\n" {
		t.Fatalf("last write %q, want the token-expired close event", last)
	}
}
