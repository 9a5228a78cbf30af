package netserver

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// netpoll runs every connection callback (onReadable, onConnect) through its Runner. Its default,
// bytedance's gopool, ends a worker goroutine as soon as the task queue is empty, so under a
// steady load nearly every request starts on a fresh 8 KiB stack and grows it again (an
// authenticated ingest POST goes deep: runtime.newstack/copystack were 6.4 % of the CPU of the
// event path, BENCHMARKS.md §2d). taskRunner keeps a finished worker waiting for the next
// callback for workerIdle, with the stack it grew, and starts a new one only when none waits.

// workerIdle is how long a callback goroutine waits for the next callback before it ends.
const workerIdle = 2 * time.Second

type taskRunner struct {
	idle chan func() // unbuffered: a send succeeds only when a worker is waiting
	keep time.Duration
}

func newTaskRunner() *taskRunner { return &taskRunner{idle: make(chan func()), keep: workerIdle} }

// run is netpoll's Config.Runner.
func (r *taskRunner) run(_ context.Context, task func()) {
	select {
	case r.idle <- task:
	default:
		go r.worker(task)
	}
}

func (r *taskRunner) worker(task func()) {
	t := time.NewTimer(r.keep)
	defer t.Stop()
	for {
		runRecovered(task)
		t.Reset(r.keep)
		select {
		case task = <-r.idle:
		case <-t.C:
			return
		}
	}
}

// runRecovered runs task; a panic is logged with its stack and ends only that callback, as with
// gopool (one connection's bug must not take the server down).
func runRecovered(task func()) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("netserver: panic in a connection callback", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	task()
}
