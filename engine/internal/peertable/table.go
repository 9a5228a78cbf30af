package peertable

import (
	"sort"
	"sync"
	"time"
)

// slack is added to a peer's lifetime so that a heartbeat a little late is not a death.
const slack = time.Second

// Peer is one entry of a Table.
type Peer[T any] struct {
	// Value is what the peer announced (the directory's Instance).
	Value T
	// Interval is the peer's announced heartbeat period; zero means the table's.
	Interval time.Duration
	// Seen is when the peer counts as last heard from, on this process's clock.
	Seen time.Time
}

// Table holds the last heartbeat of each peer, by id. Safe for concurrent use.
type Table[T any] struct {
	interval time.Duration
	missed   int
	now      func() time.Time

	mu    sync.RWMutex // leaf
	peers map[string]Peer[T]
}

// New returns an empty table: a peer is alive while it has missed fewer than missed of its
// periods (interval when it announced none); now is the clock (time.Now when nil).
func New[T any](interval time.Duration, missed int, now func() time.Time) *Table[T] {
	if now == nil {
		now = time.Now
	}
	return &Table[T]{interval: interval, missed: missed, now: now, peers: map[string]Peer[T]{}}
}

// Put records the peer id's latest heartbeat.
func (t *Table[T]) Put(id string, p Peer[T]) {
	t.mu.Lock()
	t.peers[id] = p
	t.mu.Unlock()
}

// Remove forgets the peer id (it left).
func (t *Table[T]) Remove(id string) {
	t.mu.Lock()
	delete(t.peers, id)
	t.mu.Unlock()
}

// Get returns the peer id, alive or not.
func (t *Table[T]) Get(id string) (Peer[T], bool) {
	t.mu.RLock()
	p, ok := t.peers[id]
	t.mu.RUnlock()
	return p, ok
}

// Alive reports whether p has missed fewer heartbeats than allowed.
func (t *Table[T]) Alive(p Peer[T]) bool {
	iv := p.Interval
	if iv <= 0 {
		iv = t.interval
	}
	return t.now().Sub(p.Seen) < time.Duration(t.missed)*iv+slack
}

// Lookup returns what the peer id announced, if it is alive.
func (t *Table[T]) Lookup(id string) (T, bool) {
	p, ok := t.Get(id)
	if !ok || !t.Alive(p) {
		var zero T
		return zero, false
	}
	return p.Value, true
}

// Live returns what the alive peers announced, in order of id.
func (t *Table[T]) Live() []T {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ids := make([]string, 0, len(t.peers))
	for id, p := range t.peers {
		if t.Alive(p) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out []T
	for _, id := range ids {
		out = append(out, t.peers[id].Value)
	}
	return out
}

// Snapshot returns a copy of every peer, alive or not.
func (t *Table[T]) Snapshot() map[string]Peer[T] {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make(map[string]Peer[T], len(t.peers))
	for id, p := range t.peers {
		out[id] = p
	}
	return out
}
