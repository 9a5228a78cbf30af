package auth

import (
	"strings"
	"sync"
)

// roleNames interns role names: every connection keeps its principal's roles, and across
// thousands of connections they are the same few strings.
var roleNames = interner{max: 4096}

// interner returns one shared copy of each string it has seen, up to max distinct strings
// (beyond that strings are returned as given, so hostile tokens cannot grow it without bound).
type interner struct {
	mu  sync.RWMutex
	m   map[string]string
	max int
}

func (in *interner) intern(s string) string {
	in.mu.RLock()
	v, ok := in.m[s]
	in.mu.RUnlock()
	if ok {
		return v
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	if len(in.m) >= in.max {
		return s
	}
	if in.m == nil {
		in.m = make(map[string]string)
	}
	s = strings.Clone(s)
	in.m[s] = s
	return s
}
