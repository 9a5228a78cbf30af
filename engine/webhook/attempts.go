package webhook

import (
	"encoding/json"
	"sort"
	"sync"

	"github.com/pushgate/pushgate/engine/store"
)

// attemptRing keeps each endpoint's recent attempts in memory (KeepAttempts per endpoint). Only
// failed attempts are also written to the store's attempt log: a success needs no record to
// survive a restart (its delivery is gone), and writing one per delivery was a third of the
// store's work (BENCHMARKS.md §2d). After a restart the log shows the failures of before it.
type attemptRing struct {
	keep int

	mu sync.Mutex
	m  map[string]*ring // by endpoint key
}

type ring struct {
	items []Attempt // circular once len == keep
	next  int
}

func (r *attemptRing) add(endpoint string, a Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]*ring{}
	}
	rg := r.m[endpoint]
	if rg == nil {
		rg = &ring{}
		r.m[endpoint] = rg
	}
	if len(rg.items) < r.keep {
		rg.items = append(rg.items, a)
		return
	}
	rg.items[rg.next] = a
	rg.next = (rg.next + 1) % r.keep
}

// recent returns up to limit of endpoint's attempts, newest first.
func (r *attemptRing) recent(endpoint string, limit int) []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	rg := r.m[endpoint]
	if rg == nil {
		return nil
	}
	out := make([]Attempt, 0, min(limit, len(rg.items)))
	for i := 0; i < len(rg.items) && len(out) < limit; i++ {
		// newest is just before next (or the last appended while filling)
		j := (rg.next - 1 - i + 2*len(rg.items)) % len(rg.items)
		out = append(out, rg.items[j])
	}
	return out
}

func (r *attemptRing) forget(endpoint string) {
	r.mu.Lock()
	delete(r.m, endpoint)
	r.mu.Unlock()
}

// attemptLog merges the in-memory attempts with the failures persisted in the store (those of
// before a restart), newest first, without duplicates.
func (s *Service) attemptLog(ek string, limit int) ([]Attempt, error) {
	out := s.attempts.recent(ek, limit)
	raws, err := s.cfg.Store.WebhookAttemptLog(ek, limit)
	if err != nil {
		return nil, err
	}
	type key struct {
		id string
		n  int
	}
	seen := make(map[key]bool, len(out))
	for _, a := range out {
		seen[key{a.DeliveryID, a.Attempt}] = true
	}
	for _, raw := range raws {
		var a Attempt
		if json.Unmarshal(raw, &a) != nil || seen[key{a.DeliveryID, a.Attempt}] {
			continue
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out[:min(len(out), limit)], nil
}

// persistedAttempt is the store write of a failed attempt (nil for a success).
func persistedAttempt(ek string, a Attempt) []store.WebhookAttempt {
	if a.Outcome == OutcomeSuccess {
		return nil
	}
	b, _ := json.Marshal(a)
	return []store.WebhookAttempt{{Endpoint: ek, Value: b}}
}
