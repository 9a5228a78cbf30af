// Command hooksink is the webhook receiver of the webhook benchmark (bench/scripts/webhooks.sh):
// it answers every POST with 204 and counts them per path, except under --hang-prefix, where
// requests are held until the sender gives up (a receiver that hangs). GET /stats returns the
// counts as JSON. A body whose payload carries "t": <send time, unix µs> (bench/cmd/eventpath) adds
// a sample of the event→receiver latency; GET /latency[?reset=1] returns its p50 and p99.
//
//	hooksink --listen 127.0.0.1:9100 [--hang-prefix /hang/]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9100", "address to listen on")
	hang := flag.String("hang-prefix", "/hang/", "paths under this prefix never answer (until the client disconnects)")
	flag.Parse()
	var (
		mu     sync.Mutex
		byPath = map[string]int64{}
		total  atomic.Int64
		hung   atomic.Int64
		lat    []float64 // ms, guarded by mu
	)
	http.HandleFunc("GET /latency", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		l := slices.Clone(lat)
		if r.URL.Query().Get("reset") != "" {
			lat = lat[:0]
		}
		mu.Unlock()
		slices.Sort(l)
		q := func(p float64) float64 {
			if len(l) == 0 {
				return 0
			}
			return l[min(len(l)-1, int(p*float64(len(l))))]
		}
		_ = json.NewEncoder(w).Encode(map[string]float64{"n": float64(len(l)), "p50_ms": q(0.5), "p99_ms": q(0.99)})
	})
	http.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"total": total.Load(), "hung": hung.Load(), "byPath": byPath})
	})
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		if *hang != "" && strings.HasPrefix(r.URL.Path, *hang) {
			hung.Add(1)
			<-r.Context().Done()
			return
		}
		body, _ := io.ReadAll(r.Body)
		now := time.Now().UnixMicro()
		total.Add(1)
		mu.Lock()
		if i := bytes.Index(body, []byte(`"t":`)); i >= 0 {
			j := i + 4
			for j < len(body) && body[j] >= '0' && body[j] <= '9' {
				j++
			}
			if t, err := strconv.ParseInt(string(body[i+4:j]), 10, 64); err == nil && len(lat) < 1<<20 {
				lat = append(lat, float64(now-t)/1000)
			}
		}
		byPath[r.URL.Path]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	log.Printf("hooksink listening on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
