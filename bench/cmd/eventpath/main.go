// Command eventpath measures the CPU pushgate spends on the event path (bench/scripts/event-path.sh,
// BENCHMARKS.md §2d): it posts N events of about 100 bytes to POST /event/v1/events, CONC requests at
// a time, BATCH events per request (1 = one JSON object per request, more = a JSON array), waits
// until a receiver (hooksink GET /stats) has counted WANT more deliveries, and prints one JSON line:
// pushgate's CPU (from /proc/PID/stat) per event, the wall time, and, when hooksink reports them,
// the p50/p99 from the event's timestamp to its arrival at the receiver.
//
//	eventpath --url http://127.0.0.1:8080 --token-file t --pid 1234 --events 4000 --conc 16 \
//	          [--batch 1] [--name burst] [--sink http://127.0.0.1:9100 --want 4000]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "pushgate base URL")
	tokenFile := flag.String("token-file", "", "file holding an event-sender bearer token")
	pid := flag.Int("pid", 0, "pushgate's process id (its CPU is measured)")
	events := flag.Int("events", 4000, "events to post")
	conc := flag.Int("conc", 16, "requests in flight")
	batch := flag.Int("batch", 1, "events per request (>1 posts a JSON array)")
	name := flag.String("name", "burst", "event name (namespace bench)")
	sink := flag.String("sink", "", "hooksink base URL; with --want, wait for its count to grow by want")
	want := flag.Int64("want", 0, "deliveries to wait for at the sink")
	label := flag.String("label", "", "label copied into the output line")
	flag.Parse()
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		log.Fatal(err)
	}
	auth := "Bearer " + strings.TrimSpace(string(tok))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2}}
	var base int64
	if *sink != "" {
		base = sinkTotal(client, *sink)
	}
	m0, b0 := memstats(client, *url)
	c0 := cpuTicks(*pid)
	t0 := time.Now()
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for {
				start := next.Add(int64(*batch)) - int64(*batch)
				if start >= int64(*events) {
					return
				}
				n := min(int64(*batch), int64(*events)-start)
				buf.Reset()
				if *batch > 1 {
					buf.WriteByte('[')
				}
				for i := int64(0); i < n; i++ {
					if i > 0 {
						buf.WriteByte(',')
					}
					// ~100 B: namespace, name, timestamp, a small payload carrying the send time.
					fmt.Fprintf(&buf, `{"namespace":"bench","name":%q,"timestamp":%q,"payload":{"n":%d,"t":%d}}`,
						*name, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), start+i, time.Now().UnixMicro())
				}
				if *batch > 1 {
					buf.WriteByte(']')
				}
				req, _ := http.NewRequest(http.MethodPost, *url+"/event/v1/events", bytes.NewReader(buf.Bytes()))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(n)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					if failed.Add(n) == n {
						log.Printf("status %d: %s", resp.StatusCode, b)
					}
				}
			}
		}()
	}
	wg.Wait()
	posted := time.Since(t0)
	c1 := cpuTicks(*pid)
	var got int64
	if *sink != "" && *want > 0 && failed.Load() < int64(*events) { // nothing accepted: nothing to wait for
		deadline := time.Now().Add(120 * time.Second)
		for got = sinkTotal(client, *sink) - base; got < *want && time.Now().Before(deadline); got = sinkTotal(client, *sink) - base {
			time.Sleep(20 * time.Millisecond)
		}
		c1 = cpuTicks(*pid)
	}
	wall := time.Since(t0)
	cpu := float64(c1-c0) / 100 // CLK_TCK is 100 on Linux
	m1, b1 := memstats(client, *url)
	out := map[string]any{
		"label": *label, "events": *events, "batch": *batch, "conc": *conc, "failed": failed.Load(),
		"post_s": posted.Seconds(), "wall_s": wall.Seconds(), "cpu_s": cpu,
		"cpu_us_per_event": cpu / float64(*events) * 1e6,
		"allocs_per_event": (m1 - m0) / float64(*events), "bytes_per_event": (b1 - b0) / float64(*events),
	}
	if *sink != "" {
		out["delivered"] = got
		if got > 0 {
			out["cpu_us_per_delivery"] = cpu / float64(got) * 1e6
			out["allocs_per_delivery"] = (m1 - m0) / float64(got)
			out["bytes_per_delivery"] = (b1 - b0) / float64(got)
		}
		if lat := sinkLatency(client, *sink); lat != nil {
			out["p50_ms"], out["p99_ms"] = lat["p50_ms"], lat["p99_ms"]
		}
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

func cpuTicks(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		log.Fatal(err)
	}
	// Fields after the command (which is in parentheses and may hold spaces).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func sinkTotal(c *http.Client, sink string) int64 {
	var st struct {
		Total int64 `json:"total"`
	}
	resp, err := c.Get(sink + "/stats")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&st)
	return st.Total
}

func sinkLatency(c *http.Client, sink string) map[string]float64 {
	resp, err := c.Get(sink + "/latency?reset=1")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var m map[string]float64
	if json.NewDecoder(resp.Body).Decode(&m) != nil {
		return nil
	}
	return m
}

// memstats reads pushgate's allocation counters from /metrics (mallocs, bytes).
func memstats(c *http.Client, url string) (mallocs, bytes float64) {
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_memstats_mallocs_total":
			mallocs = v
		case "go_memstats_alloc_bytes_total":
			bytes = v
		}
	}
	return mallocs, bytes
}
