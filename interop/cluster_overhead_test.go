//go:build cluster

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// TestClusterForwardingOverhead measures what forwarding costs a polling client whose requests
// reach another instance than its session's owner, side by side with one that polls its owner:
// two instances, N Engine.IO long-polling Socket.IO clients (a minimal Go client) whose sessions
// live on instance 1, events published at a fixed rate with their send time in the payload.
// "direct": the clients poll instance 1; "forwarded": every GET and POST of theirs goes to
// instance 2, which relays it to instance 1. Reported per phase: delivery latency p50/p99/max
// (publish → client, the Kafka path included and the same in both) and the CPU time of both
// server processes per delivery. Phases alternate twice to expose the noise of a shared machine.
func TestClusterForwardingOverhead(t *testing.T) {
	clients := envInt("CLUSTER_CLIENTS", 200)
	const (
		rate     = 20 // events per second
		duration = 10 * time.Second
	)
	_, cl, token, _ := clusterFixture(t, 2, func(addrs []string) string { return "http://" + addrs[0] })
	cl.configure(t, token)
	owner, other := "http://"+cl.addrs[0], "http://"+cl.addrs[1]
	type result struct {
		phase              string
		deliveries         int
		p50, p99, max      time.Duration
		cpuPerDelivery     time.Duration
		cpuOwner, cpuOther time.Duration
		forwarded          float64
	}
	var results []result
	for round := 0; round < 2; round++ {
		for _, phase := range []string{"direct", "forwarded"} {
			target := owner
			if phase == "forwarded" {
				target = other
			}
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * clients, MaxConnsPerHost: 0}, Timeout: 30 * time.Second}
			ctx, cancel := context.WithCancel(context.Background())
			lat := &latencies{}
			var pcs []*pollClient
			for i := 0; i < clients; i++ {
				c := &pollClient{hc: hc, owner: owner, target: target, lat: lat}
				if err := c.open(token); err != nil {
					t.Fatalf("%s: client %d: %v", phase, i, err)
				}
				go c.loop(ctx)
				pcs = append(pcs, c)
			}
			waitfor.True(t, 20*time.Second, phase+": clients connected", func() bool { return allConnected(pcs) })
			time.Sleep(time.Second) // settle
			lat.reset()
			fwd0 := cl.metrics(t, 1)["pushgate_cluster_forwarded_total"]
			cpu0 := []time.Duration{procCPU(t, cl.procs[0].cmd.Process.Pid), procCPU(t, cl.procs[1].cmd.Process.Pid)}
			events := int(duration.Seconds()) * rate
			tick := time.NewTicker(time.Second / rate)
			for n := 0; n < events; n++ {
				<-tick.C
				publishStamped(t, owner, token)
			}
			tick.Stop()
			want := events * clients
			// A timeout is reported below, with the count of deliveries.
			_ = waitfor.Bool(10*time.Second, func() bool { return lat.len() >= want })
			cpu1 := []time.Duration{procCPU(t, cl.procs[0].cmd.Process.Pid), procCPU(t, cl.procs[1].cmd.Process.Pid)}
			fwd1 := cl.metrics(t, 1)["pushgate_cluster_forwarded_total"]
			cancel()
			for _, c := range pcs {
				c.close()
			}
			hc.CloseIdleConnections()
			got := lat.sorted()
			if len(got) < want {
				t.Errorf("%s: %d of %d deliveries", phase, len(got), want)
			}
			if len(got) == 0 {
				t.Fatalf("%s: nothing delivered", phase)
			}
			cpu := cpu1[0] - cpu0[0] + cpu1[1] - cpu0[1]
			results = append(results, result{phase: phase, deliveries: len(got),
				p50: got[len(got)/2], p99: got[len(got)*99/100], max: got[len(got)-1],
				cpuPerDelivery: cpu / time.Duration(len(got)), cpuOwner: cpu1[0] - cpu0[0], cpuOther: cpu1[1] - cpu0[1],
				forwarded: fwd1 - fwd0})
			time.Sleep(5 * time.Second) // the closed sessions' timers are gone
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d polling clients, %d events/s for %s per phase, sessions on instance 1\n", clients, rate, duration)
	fmt.Fprintf(&b, "| phase | deliveries | p50 | p99 | max | CPU per delivery (both instances) | CPU owner / other | requests forwarded |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s / %s | %.0f |\n", r.phase, r.deliveries,
			r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond), r.max.Round(time.Millisecond),
			r.cpuPerDelivery.Round(100*time.Nanosecond), r.cpuOwner.Round(10*time.Millisecond), r.cpuOther.Round(10*time.Millisecond), r.forwarded)
	}
	t.Log(b.String())
	if out := os.Getenv("CLUSTER_FIGURES"); out != "" {
		_ = os.WriteFile(out, []byte(b.String()), 0o644)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }
func (l *latencies) reset()              { l.mu.Lock(); l.d = l.d[:0]; l.mu.Unlock() }
func (l *latencies) len() int            { l.mu.Lock(); defer l.mu.Unlock(); return len(l.d) }
func (l *latencies) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.d)
	slices.Sort(out)
	return out
}

// procCPU is the user+system CPU time of pid (/proc/<pid>/stat, clock ticks of 10 ms).
func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

func publishStamped(t *testing.T, base, token string) {
	body := fmt.Sprintf(`{"namespace":"cl","name":"e","timestamp":%q,"payload":{"ts":"%d"}}`, time.Now().UTC().Format(time.RFC3339Nano), time.Now().UnixNano())
	req, _ := http.NewRequest("POST", base+"/event/v1/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("publish: %d", resp.StatusCode)
	}
}

// pollClient is a minimal Socket.IO client over Engine.IO long-polling: handshake on its
// session's owner, then every request (CONNECT, GETs, pongs) to target.
type pollClient struct {
	hc            *http.Client
	owner, target string
	sid           string
	lat           *latencies
	connected     atomic.Bool
}

func allConnected(pcs []*pollClient) bool {
	for _, c := range pcs {
		if !c.connected.Load() {
			return false
		}
	}
	return true
}

func (c *pollClient) url(base string) string {
	u := base + "/socket.io/?EIO=4&transport=polling"
	if c.sid != "" {
		u += "&sid=" + c.sid
	}
	return u
}

func (c *pollClient) open(token string) error {
	resp, err := c.hc.Get(c.url(c.owner) + "&stream=cl")
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var hs struct{ Sid string }
	if len(b) < 2 || b[0] != '0' || json.Unmarshal(b[1:], &hs) != nil || hs.Sid == "" {
		return fmt.Errorf("handshake: %d %q", resp.StatusCode, b)
	}
	c.sid = hs.Sid
	return c.post(`40/demo,{"token":"` + token + `"}`)
}

func (c *pollClient) post(packet string) error {
	resp, err := c.hc.Post(c.url(c.target), "text/plain;charset=UTF-8", strings.NewReader(packet))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST %q: %d", packet, resp.StatusCode)
	}
	return nil
}

func (c *pollClient) close() { _ = c.post("1") }

func (c *pollClient) loop(ctx context.Context) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", c.url(c.target), nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return
		}
		now := time.Now()
		for _, p := range bytes.Split(b, []byte{0x1e}) {
			switch {
			case string(p) == "2":
				go func() { _ = c.post("3") }()
			case bytes.HasPrefix(p, []byte("40/demo,")):
				c.connected.Store(true)
			case bytes.HasPrefix(p, []byte("42/demo,")):
				var args []json.RawMessage
				if json.Unmarshal(p[len("42/demo,"):], &args) != nil || len(args) < 2 {
					continue
				}
				var item struct {
					Payload struct {
						Ts string `json:"ts"`
					} `json:"payload"`
				}
				if json.Unmarshal(args[1], &item) == nil {
					if ns, err := strconv.ParseInt(item.Payload.Ts, 10, 64); err == nil {
						c.lat.add(now.Sub(time.Unix(0, ns)))
					}
				}
			case len(p) > 0 && p[0] == '1':
				return
			}
		}
	}
}
