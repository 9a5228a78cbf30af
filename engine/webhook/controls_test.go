package webhook

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// scripted is a receiver whose answer to each request is decided by a function of the event's
// sequence number (payload.n) and how often that event was received.
type scripted struct {
	url    string
	mu     sync.Mutex
	seen   map[int]int
	log    []arrival
	answer func(n, try int, w http.ResponseWriter)
}

type arrival struct {
	n, try int
	at     time.Time
}

var payloadN = regexp.MustCompile(`"payload":\{"n":(\d+)\}`)

func newScripted(t *testing.T, answer func(n, try int, w http.ResponseWriter)) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &scripted{url: "http://" + ln.Addr().String() + "/hook", seen: map[int]int{}, answer: answer}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		m := payloadN.FindSubmatch(b)
		n := -1
		if m != nil {
			n, _ = strconv.Atoi(string(m[1]))
		}
		r.mu.Lock()
		r.seen[n]++
		try := r.seen[n]
		r.log = append(r.log, arrival{n, try, time.Now()})
		r.mu.Unlock()
		r.answer(n, try, w)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *scripted) arrivals() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]arrival(nil), r.log...)
}

func controlDoc(key, url, extra string) string {
	return fmt.Sprintf(`{"webhooks":{%q:{"id":%q,"name":"Hook","url":%q,"events":[{"namespace":"demo","name":"ping"}]%s}}}`, key, key, url, extra)
}

// retryGap answers the first attempt with status and the Retry-After header retryAfter() gives,
// the second with 204, and returns the time between the two attempts.
func retryGap(t *testing.T, schedule []time.Duration, status int, retryAfter func() string) time.Duration {
	t.Helper()
	e := newEnv(t, func(c *Config) { c.Schedule = schedule })
	r := newScripted(t, func(n, try int, w http.ResponseWriter) {
		if try == 1 {
			w.Header().Set("Retry-After", retryAfter())
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	e.configure(tenantA, controlDoc("h1", r.url, ""))
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "the retry", func() bool { return len(r.arrivals()) == 2 })
	a := r.arrivals()
	return a[1].at.Sub(a[0].at)
}

// A 429 with Retry-After (seconds) holds the next attempt back that long, though the schedule's
// next delay is 20 ms.
func TestRetryAfterSecondsIsHonoured(t *testing.T) {
	schedule := []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond, 3 * time.Second}
	if gap := retryGap(t, schedule, http.StatusTooManyRequests, func() string { return "1" }); gap < 900*time.Millisecond {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

// An HTTP-date Retry-After on a 503 is honoured too.
func TestRetryAfterDate(t *testing.T) {
	schedule := []time.Duration{0, 20 * time.Millisecond, 3 * time.Second}
	date := func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }
	// An HTTP date has a one-second resolution: "2 s ahead" is at least one second away.
	if gap := retryGap(t, schedule, http.StatusServiceUnavailable, date); gap < 900*time.Millisecond {
		t.Fatalf("retried %v after a 503 with a Retry-After date 2 s ahead", gap)
	}
}

// A Retry-After beyond the schedule's longest delay is capped by it; other statuses' is ignored.
func TestRetryAfterIsCapped(t *testing.T) {
	schedule := []time.Duration{0, 20 * time.Millisecond, 300 * time.Millisecond}
	if gap := retryGap(t, schedule, http.StatusTooManyRequests, func() string { return "3600" }); gap < 250*time.Millisecond || gap > 2*time.Second {
		t.Fatalf("Retry-After: 3600 held the retry %v; the schedule's longest delay is 300 ms", gap)
	}
	if got := retryAfter(http.StatusInternalServerError, "5", time.Now()); got != 0 {
		t.Fatalf("Retry-After on a 500 used: %v", got)
	}
}

// rateLimit spaces the attempts to an endpoint: 6 deliveries at 10 per second take at least half
// a second, where unthrottled they arrive within milliseconds.
func TestRateLimitThrottlesAnEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	r := newScripted(t, func(n, try int, w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) })
	e.configure(tenantA, controlDoc("h1", r.url, `,"rateLimit":10`))
	for i := 0; i < 6; i++ {
		e.publish(tenantA)
	}
	waitfor.True(t, 5*time.Second, "6 deliveries", func() bool { return len(r.arrivals()) == 6 })
	a := r.arrivals()
	if span := a[5].at.Sub(a[0].at); span < 450*time.Millisecond {
		t.Fatalf("6 deliveries at rateLimit 10/s arrived within %v", span)
	}
	for i := 1; i < len(a); i++ {
		if gap := a[i].at.Sub(a[i-1].at); gap < 70*time.Millisecond {
			t.Fatalf("deliveries %d and %d only %v apart at 10/s", i-1, i, gap)
		}
	}
	if e.svc.stats.attempts[OutcomeSuccess].Load() != 6 {
		t.Fatalf("throttled deliveries were charged attempts: %d", e.svc.stats.attempts[OutcomeSuccess].Load())
	}
}

// ordered: the second event waits while the first is retried, so the receiver sees the events
// succeed in order and never two at once.
func TestOrderedDeliveryWaitsForThePrevious(t *testing.T) {
	e := newEnv(t, nil) // MaxInFlight 4 would otherwise send all five at once
	var mu sync.Mutex
	inflight, maxInflight := 0, 0
	r := newScripted(t, func(n, try int, w http.ResponseWriter) {
		mu.Lock()
		inflight++
		maxInflight = max(maxInflight, inflight)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // an answer takes a moment: overlapping requests would show
		mu.Lock()
		inflight--
		mu.Unlock()
		if n == 1 && try <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	e.configure(tenantA, controlDoc("h1", r.url, `,"ordered":true`))
	for i := 0; i < 5; i++ {
		e.publish(tenantA)
	}
	waitfor.True(t, 5*time.Second, "5 events delivered", func() bool { return e.svc.stats.delivered.Load() == 5 })
	var order []int
	for _, a := range r.arrivals() {
		order = append(order, a.n)
	}
	if fmt.Sprint(order) != "[1 1 1 2 3 4 5]" {
		t.Fatalf("arrival order %v, want [1 1 1 2 3 4 5] (event 1 failed twice)", order)
	}
	if maxInflight != 1 {
		t.Fatalf("%d requests in flight at once to an ordered endpoint", maxInflight)
	}
}

// A dead-lettered delivery lets the next one go.
func TestOrderedDeadLetterReleasesTheNext(t *testing.T) {
	e := newEnv(t, nil) // 4 attempts, 20 ms apart
	r := newScripted(t, func(n, try int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	e.configure(tenantA, controlDoc("h1", r.url, `,"ordered":true`))
	e.publish(tenantA)
	e.publish(tenantA)
	waitfor.True(t, 5*time.Second, "event 2 delivered", func() bool { return e.svc.stats.delivered.Load() == 1 })
	var order []int
	for _, a := range r.arrivals() {
		order = append(order, a.n)
	}
	if fmt.Sprint(order) != "[1 1 1 1 2]" {
		t.Fatalf("arrival order %v, want event 1 four times (dead-lettered), then 2", order)
	}
}
