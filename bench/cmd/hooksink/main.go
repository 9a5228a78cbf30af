// Command hooksink is the webhook receiver of the webhook benchmark (bench/scripts/webhooks.sh):
// it answers every POST with 204 and counts them per path, except under --hang-prefix, where
// requests are held until the sender gives up (a receiver that hangs). GET /stats returns the
// counts as JSON.
//
//	hooksink --listen 127.0.0.1:9100 [--hang-prefix /hang/]
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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
	)
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
		_, _ = io.Copy(io.Discard, r.Body)
		total.Add(1)
		mu.Lock()
		byPath[r.URL.Path]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	log.Printf("hooksink listening on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
