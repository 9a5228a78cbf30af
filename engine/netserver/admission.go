package netserver

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// admission enforces the per-IP connection cap and connect rate before any request is read, so
// an overload costs one short response (NATS and Centrifugo do the same at the HTTP layer).
type admission struct {
	maxPerIP int
	rate     rate.Limit
	burst    int

	mu    sync.Mutex
	perIP map[string]*ipState
	last  time.Time
}

type ipState struct {
	conns   int
	limiter *rate.Limiter
	seen    time.Time
}

func newAdmission(maxPerIP int, perSecond float64, burst int) *admission {
	a := &admission{maxPerIP: maxPerIP, perIP: make(map[string]*ipState)}
	if perSecond > 0 {
		a.rate = rate.Limit(perSecond)
		a.burst = max(burst, 1)
	}
	return a
}

// verdict of admit.
type verdict uint8

const (
	admitted verdict = iota
	tooManyForIP
	tooFast
)

// admit records a new connection from ip and says whether it may proceed. A refused connection is
// not counted; an admitted one must be released.
func (a *admission) admit(ip string, now time.Time) verdict {
	if a.maxPerIP <= 0 && a.rate == 0 {
		return admitted
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	st := a.perIP[ip]
	if st == nil {
		st = &ipState{}
		if a.rate > 0 {
			st.limiter = rate.NewLimiter(a.rate, a.burst)
		}
		a.perIP[ip] = st
	}
	st.seen = now
	if st.limiter != nil && !st.limiter.AllowN(now, 1) {
		return tooFast
	}
	if a.maxPerIP > 0 && st.conns >= a.maxPerIP {
		return tooManyForIP
	}
	st.conns++
	return admitted
}

func (a *admission) release(ip string) {
	if a.maxPerIP <= 0 && a.rate == 0 {
		return
	}
	a.mu.Lock()
	if st := a.perIP[ip]; st != nil && st.conns > 0 {
		st.conns--
	}
	a.mu.Unlock()
}

// sweep forgets idle addresses once a minute so the table stays bounded by the active ones.
func (a *admission) sweep(now time.Time) {
	if now.Sub(a.last) < time.Minute {
		return
	}
	a.last = now
	for ip, st := range a.perIP {
		if st.conns == 0 && now.Sub(st.seen) > time.Minute {
			delete(a.perIP, ip)
		}
	}
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
