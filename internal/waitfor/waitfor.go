package waitfor

import (
	"errors"
	"fmt"
	"time"
)

// TB is the part of testing.TB the helpers use.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// The polling interval starts short (most conditions hold within a millisecond or two on an idle
// machine) and backs off to maxInterval so a long wait costs little CPU on a loaded one.
const (
	firstInterval = time.Millisecond
	maxInterval   = 50 * time.Millisecond
)

// errFalse is the last answer of a boolean condition that never held.
var errFalse = errors.New("condition never held")

// Condition calls cond until it returns nil or within has passed (cond is always called at least
// once, and once more at the deadline). It returns nil, or cond's last error wrapped with the time
// waited.
func Condition(within time.Duration, cond func() error) error {
	start := time.Now()
	deadline := start.Add(within)
	wait := firstInterval
	for {
		err := cond()
		if err == nil {
			return nil
		}
		now := time.Now()
		if !now.Before(deadline) {
			return fmt.Errorf("after %v: %w", now.Sub(start).Round(time.Millisecond), err)
		}
		time.Sleep(min(wait, deadline.Sub(now)))
		wait = min(2*wait, maxInterval)
	}
}

// Check waits like Condition and ends the test with cond's last error when it never returned nil.
func Check(t TB, within time.Duration, cond func() error) {
	t.Helper()
	if err := Condition(within, cond); err != nil {
		t.Fatalf("waitfor: %v", err)
	}
}

// True waits until cond returns true and ends the test naming what was awaited when it never did.
func True(t TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Condition(within, boolCond(cond)); err != nil {
		t.Fatalf("waitfor: %s: %v", what, err)
	}
}

// Bool is Condition for a boolean condition: nil once cond returned true, else an error.
func Bool(within time.Duration, cond func() bool) error { return Condition(within, boolCond(cond)) }

func boolCond(cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errFalse
	}
}
