package hub

import (
	"sync"
	"sync/atomic"
)

// StreamStats are one stream scope's figures in this process (pushgate_stream_* metrics).
type StreamStats struct {
	Subscriptions, Deliveries, Drops atomic.Int64
}

type scopeKey struct{ tenant, stream string }

// streamStats holds the figures of every stream scope seen (a stream deleted keeps its totals,
// as a counter must).
type streamStats struct {
	mu sync.RWMutex
	m  map[scopeKey]*StreamStats
}

// of returns the figures of (tenant, stream), creating them once; a lookup allocates nothing.
func (s *streamStats) of(tenant, stream string) *StreamStats {
	k := scopeKey{tenant, stream}
	s.mu.RLock()
	st := s.m[k]
	s.mu.RUnlock()
	if st != nil {
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st = s.m[k]; st == nil {
		if s.m == nil {
			s.m = map[scopeKey]*StreamStats{}
		}
		st = &StreamStats{}
		s.m[k] = st
	}
	return st
}

// EachStream calls fn with every stream scope's figures (tenant URN, "" for cross-tenant).
func (h *Hub) EachStream(fn func(tenant, stream string, st *StreamStats)) {
	h.streams.mu.RLock()
	defer h.streams.mu.RUnlock()
	for k, st := range h.streams.m {
		fn(k.tenant, k.stream, st)
	}
}
