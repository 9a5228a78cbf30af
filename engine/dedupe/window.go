package dedupe

import (
	"sync"
	"time"
)

// Defaults of the window: documented in README "Publishing events" and docs/DEPLOY.md.
const (
	// MaxKeys bounds the keys remembered (about 100 bytes each: ~10 MB at the bound).
	MaxKeys = 100_000
	// MaxAge is how long a key is remembered: far longer than any publisher's retry loop.
	MaxAge = 10 * time.Minute
)

// Window remembers the first occurrence of each key for a bounded time and count. It is safe for
// concurrent use.
type Window struct {
	maxKeys int
	maxAge  time.Duration

	mu    sync.Mutex
	first map[string]entry
	order []string // keys by insertion, a ring of maxKeys
	head  int      // index of the oldest key in order
	n     int
}

type entry struct {
	value string // what identifies the first occurrence (an event id, a record position)
	at    time.Time
}

// New returns a window of at most maxKeys keys kept for maxAge (zero values: MaxKeys, MaxAge).
func New(maxKeys int, maxAge time.Duration) *Window {
	if maxKeys <= 0 {
		maxKeys = MaxKeys
	}
	if maxAge <= 0 {
		maxAge = MaxAge
	}
	return &Window{maxKeys: maxKeys, maxAge: maxAge, first: map[string]entry{}, order: make([]string, maxKeys)}
}

// First records value as key's first occurrence at time at, unless the window holds an earlier
// one: it returns the first occurrence's value and whether value is a repeat (another occurrence
// than the first). A key older than maxAge (measured against at) counts as new.
func (w *Window) First(key, value string, at time.Time) (first string, repeat bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(at)
	if e, ok := w.first[key]; ok && at.Sub(e.at) < w.maxAge {
		return e.value, e.value != value
	}
	if w.n == w.maxKeys { // full: forget the oldest
		delete(w.first, w.order[w.head])
		w.head = (w.head + 1) % w.maxKeys
		w.n--
	}
	w.order[(w.head+w.n)%w.maxKeys] = key
	w.n++
	w.first[key] = entry{value: value, at: at}
	return value, false
}

// Lookup returns key's first occurrence if the window holds it (no expiry by time here: First
// does that).
func (w *Window) Lookup(key string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.first[key]
	return e.value, ok
}

// Forget removes key (its first occurrence was not published after all).
func (w *Window) Forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.first, key) // its slot in order is skipped when it reaches the head
}

// expire drops the oldest keys older than maxAge at time now.
func (w *Window) expire(now time.Time) {
	for w.n > 0 {
		k := w.order[w.head]
		e, ok := w.first[k]
		if ok && now.Sub(e.at) < w.maxAge {
			return
		}
		if ok {
			delete(w.first, k)
		}
		w.order[w.head] = ""
		w.head = (w.head + 1) % w.maxKeys
		w.n--
	}
}

// Len is the number of keys held.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}
