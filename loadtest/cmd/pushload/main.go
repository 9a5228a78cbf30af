// Command pushload is pushgate's load generator: many Socket.IO (WebSocket
// or polling→WebSocket) or SSE subscribers on a few epoll loops, an optional
// scheduled publisher, per-delivery latency histograms, loss/dup/order
// checks, and one JSON line per step plus a summary on stdout. Run
// `pushload -h` for the flags; see loadtest/doc.go for examples.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	opt, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pushload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch {
	case opt.child:
		err = runChild(ctx, opt)
	case opt.procs > 1:
		err = runParent(ctx, opt)
	default:
		err = runSingle(ctx, opt)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pushload:", err)
		os.Exit(1)
	}
}
