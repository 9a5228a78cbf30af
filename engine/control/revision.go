package control

import "sync"

// revision is how far a consumer of the control plane's changes got: the store revision
// (store.Store.Revision) it has applied. A writer waits for its revision instead of applying the
// change itself, so each consumer applies each change once.
type revision struct {
	mu sync.Mutex    // leaf: guards n and ch
	n  uint64        // applied revision
	ch chan struct{} // closed and replaced when n advances
}

// advance records that revision r is applied and wakes the waiters.
func (v *revision) advance(r uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r <= v.n {
		return
	}
	v.n = r
	if v.ch != nil {
		close(v.ch)
		v.ch = nil
	}
}

// wait returns once revision r is applied, or stop is closed.
func (v *revision) wait(r uint64, stop <-chan struct{}) {
	v.mu.Lock()
	if v.n >= r {
		v.mu.Unlock()
		return
	}
	if v.ch == nil {
		v.ch = make(chan struct{})
	}
	ch := v.ch
	v.mu.Unlock()
	select {
	case <-ch:
		v.wait(r, stop)
	case <-stop:
	}
}

// signalOne sends a coalescing wake-up on a channel buffered 1.
func signalOne(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
