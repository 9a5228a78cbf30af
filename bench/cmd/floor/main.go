// Command floor runs the calibration "floor" server of the side-by-side benchmark (package
// bench/floor): WebSocket + just enough Engine.IO/Socket.IO to admit a client, and one
// precomputed frame written to every socket per event with one write from a single goroutine.
//
//	floor --listen 127.0.0.1:3200 [--namespace /demo] [--ping-interval 25s]
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"time"

	"github.com/pushgate/pushgate/bench/floor"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:3200", "address to listen on")
	nsp := flag.String("namespace", "/demo", "Socket.IO namespace events are framed for")
	pi := flag.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	pt := flag.Duration("ping-timeout", 20*time.Second, "Engine.IO ping timeout (advertised)")
	flag.Parse()
	l, err := net.Listen("tcp4", *listen) // Go uses net.core.somaxconn as the backlog
	if err != nil {
		log.Fatal(err)
	}
	log.SetOutput(os.Stderr)
	log.Printf("floor server listening on %s", l.Addr())
	s := floor.New(floor.Config{Namespace: *nsp, PingInterval: *pi, PingTimeout: *pt})
	log.Fatal(s.Serve(l))
}
