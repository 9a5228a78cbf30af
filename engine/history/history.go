package history

import (
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// Config bounds the window. Zero values mean the defaults.
type Config struct {
	// Size is the number of events kept. Zero means 10000; negative disables history.
	Size int
	// Age is the longest an event is kept. Zero means 5m.
	Age time.Duration
}

// Entry is one recorded event with the hub sequence it was published under.
type Entry struct {
	Seq   uint64
	Event *source.Event
	at    time.Time
}

// History is a ring buffer of entries, safe for concurrent use.
type History struct {
	cfg  Config
	mu   sync.RWMutex
	ring []Entry
	head int // index of the oldest entry
	n    int
	byID map[string]uint64
}

// New returns an empty history.
func New(cfg Config) *History {
	if cfg.Size == 0 {
		cfg.Size = 10000
	}
	if cfg.Age <= 0 {
		cfg.Age = 5 * time.Minute
	}
	h := &History{cfg: cfg, byID: make(map[string]uint64)}
	if cfg.Size > 0 {
		h.ring = make([]Entry, cfg.Size)
	}
	return h
}

// Add records ev under seq (seqs must increase).
func (h *History) Add(seq uint64, ev *source.Event, now time.Time) {
	if len(h.ring) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == len(h.ring) {
		old := h.ring[h.head]
		delete(h.byID, old.Event.ID)
		h.head = (h.head + 1) % len(h.ring)
		h.n--
	}
	i := (h.head + h.n) % len(h.ring)
	h.ring[i] = Entry{Seq: seq, Event: ev, at: now}
	h.byID[ev.ID] = seq
	h.n++
}

// After returns the entries published after the event with id lastID, up to and including seq
// upTo. ok is false when lastID is not in the window (unknown, evicted or too old): a gap.
func (h *History) After(lastID string, upTo uint64, now time.Time) (entries []Entry, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	from, found := h.byID[lastID]
	if !found {
		return nil, false
	}
	oldest := now.Add(-h.cfg.Age)
	for k := 0; k < h.n; k++ {
		e := h.ring[(h.head+k)%len(h.ring)]
		if e.Seq == from && e.at.Before(oldest) {
			return nil, false
		}
		if e.Seq > from && e.Seq <= upTo {
			entries = append(entries, e)
		}
	}
	return entries, true
}

// Len returns the number of entries held.
func (h *History) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// Has reports whether the event with id is in the window.
func (h *History) Has(id string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	_, ok := h.byID[id]
	return ok
}
