package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// shutdownContext is every mode's signal handling: the context ends on the first SIGTERM/SIGINT
// (drain); a second one during the drain runs second — exit at once (one process, a worker) or
// tell the workers again so they exit at once (the parent).
func shutdownContext(second func()) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		second()
	}()
	return ctx, stop
}

// exitWithoutDraining is the second signal of a process serving clients itself.
func exitWithoutDraining(logger *slog.Logger) func() {
	return func() {
		logger.Warn("second signal: exiting without draining")
		os.Exit(1)
	}
}
