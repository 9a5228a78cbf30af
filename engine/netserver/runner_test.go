package netserver

import (
	"runtime"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// handOff reports whether a waiting worker took task (the send succeeds only then).
func handOff(r *taskRunner, task func()) bool {
	select {
	case r.idle <- task:
		return true
	default:
		return false
	}
}

// A worker that finished a callback waits for the next one (keeping its grown stack) instead of
// ending; a panicking callback is recovered and its worker goes on; an idle worker ends after keep.
func TestTaskRunnerKeepsWorkersBetweenCallbacks(t *testing.T) {
	r := &taskRunner{idle: make(chan func()), keep: time.Hour}
	done := make(chan int, 3)
	r.run(nil, func() { done <- 1 })
	<-done
	waitfor.True(t, 5*time.Second, "the worker waiting for the next callback", func() bool {
		return handOff(r, func() { panic("a callback's bug") })
	})
	waitfor.True(t, 5*time.Second, "the same worker waiting again after the panic", func() bool {
		return handOff(r, func() { done <- 2 })
	})
	if got := <-done; got != 2 {
		t.Fatalf("ran %d", got)
	}

	base := runtime.NumGoroutine()
	short := &taskRunner{idle: make(chan func()), keep: 20 * time.Millisecond}
	short.run(nil, func() {})
	waitfor.True(t, 5*time.Second, "the idle worker ended", func() bool { return runtime.NumGoroutine() <= base })
}
