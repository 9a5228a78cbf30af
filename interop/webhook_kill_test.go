package interop

// `kill -9` of pushgate under full webhook load (README "Webhooks", make test-webhook-kill): a
// first wave of events is acknowledged while the receiver is down (WEBHOOK_KILL_DELIVERIES
// deliveries pending, 2,000 in `make test`, 10,000 in the make target), then the receiver comes up
// and a second wave is posted in batches while the first is being delivered; pushgate is killed in
// the middle of both. After the restart every delivery of every acknowledged event arrives;
// duplicates (the same webhook-id answered 2xx more than once) are counted and reported.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// countingReceiver counts 2xx answers per webhook-id and remembers which (hook, event) pairs arrived.
type countingReceiver struct {
	url  string
	up   atomic.Bool
	mu   sync.Mutex
	byID map[string]int
	got  map[string]bool // "<hook>/<i>"
	reqs atomic.Int64
}

var payloadI = regexp.MustCompile(`"payload":\{"i":(\d+)\}`)

func startCountingReceiver(t *testing.T) *countingReceiver {
	t.Helper()
	r := &countingReceiver{byID: map[string]int{}, got: map[string]bool{}}
	r.url = serveLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.reqs.Add(1)
		if !r.up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		m := payloadI.FindSubmatch(b)
		if m == nil {
			w.WriteHeader(http.StatusNoContent) // push-service:webhook-test and the like
			return
		}
		r.mu.Lock()
		r.byID[req.Header.Get("webhook-id")]++
		r.got[strings.TrimPrefix(req.URL.Path, "/")+"/"+string(m[1])] = true
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return r
}

func (r *countingReceiver) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *countingReceiver) duplicates() (ids, extra int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.byID {
		if n > 1 {
			ids++
			extra += n - 1
		}
	}
	return ids, extra
}

func TestWebhooksKill9UnderLoad(t *testing.T) {
	const hooks = 10
	deliveries := 2000
	if v, err := strconv.Atoi(os.Getenv("WEBHOOK_KILL_DELIVERIES")); err == nil && v >= hooks {
		deliveries = v
	}
	firstWave := deliveries / hooks

	tmp := t.TempDir()
	bin := pushgateBinary(t)
	dataDir := filepath.Join(tmp, "data")
	start := func() *productServer { return startWebhookServer(t, bin, dataDir, "error") }
	srv := start()
	token := productRun(t, bin, "token", "--data-dir", dataDir, "--tenant", "demo", "--roles", quickStartRoles)
	rx := startCountingReceiver(t)
	var members []string
	for h := 0; h < hooks; h++ {
		members = append(members, fmt.Sprintf(`"k%d":{"id":"k%d","name":"K%d","url":"%s/k%d","events":[{"namespace":"demo","name":"load"}]}`, h, h, h, rx.url, h))
	}
	if st, body := productHTTP(t, "PATCH", srv.url+"/configuration/v2/configuration/platform/push-service", token,
		`{"operation":"UPDATE","update":{"webhooks":{`+strings.Join(members, ",")+`}}}`); st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}

	// post sends events [from, to) as one batch; it reports whether pushgate acknowledged them.
	client := &http.Client{Timeout: 20 * time.Second}
	post := func(url, token string, from, to int) bool {
		var b bytes.Buffer
		b.WriteByte('[')
		for i := from; i < to; i++ {
			if i > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"namespace":"demo","name":"load","timestamp":"2026-01-02T03:04:05Z","payload":{"i":%d}}`, i)
		}
		b.WriteByte(']')
		req, _ := http.NewRequest("POST", url+"/event/v1/events", &b)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var ans struct{ IDs []string }
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		return resp.StatusCode == 200 && len(ans.IDs) == to-from
	}

	// 1. Receiver down: the first wave is acknowledged, so its deliveries are durable and pending.
	acked := map[int]bool{}
	var amu sync.Mutex
	for i := 0; i < firstWave; i += 100 {
		to := min(i+100, firstWave)
		if !post(srv.url, token, i, to) {
			t.Fatalf("first wave: batch %d–%d not acknowledged", i, to)
		}
		for j := i; j < to; j++ {
			acked[j] = true
		}
	}
	t.Logf("%d deliveries pending (%d events × %d webhooks), receiver down", firstWave*hooks, firstWave, hooks)

	// 2. Receiver up; a second wave is posted while the first is delivered; kill -9 mid-way.
	rx.up.Store(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var next atomic.Int64
	next.Store(int64(firstWave))
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				from := int(next.Add(20)) - 20
				if post(srv.url, token, from, from+20) {
					amu.Lock()
					for j := from; j < from+20; j++ {
						acked[j] = true
					}
					amu.Unlock()
				}
			}
		}()
	}
	waitfor.True(t, 60*time.Second, "a quarter of the first wave delivered", func() bool { return rx.delivered() >= firstWave*hooks/4 })
	if err := srv.proc.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	<-srv.proc.done
	close(stop)
	wg.Wait()
	before := rx.delivered()
	amu.Lock()
	want := len(acked) * hooks
	amu.Unlock()
	t.Logf("killed with %d of %d acknowledged deliveries made (%d events acknowledged)", before, want, len(acked))

	// 3. Restart on the same data directory: every delivery of every acknowledged event arrives.
	srv = start()
	waitfor.Check(t, 120*time.Second, func() error {
		missing := 0
		rx.mu.Lock()
		for i := range acked {
			for h := 0; h < hooks; h++ {
				if !rx.got[fmt.Sprintf("k%d/%d", h, i)] {
					missing++
				}
			}
		}
		rx.mu.Unlock()
		if missing != 0 {
			return fmt.Errorf("%d of %d acknowledged deliveries never arrived after the restart", missing, want)
		}
		return nil
	})
	ids, extra := rx.duplicates()
	t.Logf("all %d acknowledged deliveries arrived after kill -9 + restart; duplicates: %d webhook-ids delivered more than once (%d extra requests, %.2f%%)",
		want, ids, extra, 100*float64(extra)/float64(want))
	if f := os.Getenv("WEBHOOK_KILL_FIGURES"); f != "" {
		_ = os.WriteFile(f, []byte(fmt.Sprintf("deliveries pending at the kill: first wave %d, acknowledged in all %d, made before the kill %d; after restart all arrived; duplicate webhook-ids %d (%d extra requests)\n",
			firstWave*hooks, want, before, ids, extra)), 0o644)
	}
}
