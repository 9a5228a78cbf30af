package main

import (
	"os"
	"strconv"
	"syscall"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/cluster"
)

// runParent runs `serve --workers N`: the parent owns the store, the issuer, the event bus and
// the API and starts N copies of this executable as workers sharing the port (engine/cluster).
// Each worker gets the same serve arguments plus the resolved --listen and --public-url and its
// --worker-index / --worker-link (later flags win).
func runParent(c engine.Config, workers int, args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	p, err := cluster.NewParent(cluster.ParentConfig{
		Engine: c, Workers: workers,
		Command: func(i int, listen, publicURL, link string) (string, []string) {
			a := append([]string{"serve"}, args...)
			a = append(a, "--listen", listen, "--public-url", publicURL,
				"--worker-index", strconv.Itoa(i), "--worker-link", link)
			return exe, a
		},
	})
	if err != nil {
		return err
	}
	ctx, stop := shutdownContext(func() {
		c.Logger.Warn("second signal: stopping workers without draining")
		p.Signal(syscall.SIGTERM) // told again, the workers exit at once
	})
	defer stop()
	return p.Run(ctx)
}

// runWorker runs one worker of a --workers parent.
func runWorker(c engine.Config, index int, link, pprofAddr string) error {
	ctx, stop := shutdownContext(exitWithoutDraining(c.Logger))
	defer stop()
	w, err := cluster.NewWorker(ctx, cluster.WorkerConfig{Engine: c, Index: index, Link: link})
	if err != nil {
		return err
	}
	if pprofAddr != "" && index == 0 {
		startPprof(pprofAddr, c.Logger) // one listener per address: only the first worker
	}
	return w.Run(ctx)
}
