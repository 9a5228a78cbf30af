package webhook

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The receiver-facing controls: a per-endpoint throttle (Hook.RateLimit), ordered delivery
// (Hook.Ordered) and Retry-After on 429 and 503.

// throttle is a token bucket of one token refilled at rate per second (GCRA): at most rate
// attempts start per second, evenly spaced. Guarded by Service.mu.
type throttle struct {
	interval time.Duration
	next     time.Time // when the next attempt may start
}

func newThrottle(rate float64) *throttle {
	if rate <= 0 {
		return nil
	}
	return &throttle{interval: time.Duration(float64(time.Second) / rate)}
}

// take reports whether an attempt may start now (and counts it); otherwise the caller waits
// until wait().
func (t *throttle) take(now time.Time) bool {
	if t == nil {
		return true
	}
	if now.Before(t.next) {
		return false
	}
	t.next = now.Add(t.interval)
	return true
}

func (t *throttle) wait() time.Time { return t.next }

// setControlsLocked applies the hook's rateLimit and ordered settings to ep.
func (s *Service) setControlsLocked(ep *endpoint) {
	h := ep.sc.Hook
	switch {
	case h.RateLimit <= 0:
		ep.throttle = nil
	case ep.throttle == nil || ep.throttle.interval != newThrottle(h.RateLimit).interval:
		ep.throttle = newThrottle(h.RateLimit)
	}
	if h.Ordered && !ep.ordered {
		ep.order = ep.order[:0]
		for _, d := range s.pending {
			if d.Endpoint == ep.key {
				ep.order = append(ep.order, d)
			}
		}
		sort.Slice(ep.order, func(i, j int) bool { return before(ep.order[i], ep.order[j]) })
	}
	if !h.Ordered {
		ep.order = nil
	}
	ep.ordered = h.Ordered
}

// before is event order: the sequence given when the delivery was recorded, then creation time.
func before(a, b *delivery) bool {
	if a.Seq != b.Seq {
		return a.Seq < b.Seq
	}
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.ID < b.ID
}

// orderLocked places d in its ordered endpoint's order.
func (s *Service) orderLocked(ep *endpoint, d *delivery) {
	i := sort.Search(len(ep.order), func(i int) bool { return before(d, ep.order[i]) })
	ep.order = append(ep.order, nil)
	copy(ep.order[i+1:], ep.order[i:])
	ep.order[i] = d
}

// unorderLocked removes d from its endpoint's order (it succeeded, died or was cancelled).
func (s *Service) unorderLocked(d *delivery) {
	ep := s.eps[d.Endpoint]
	if ep == nil || !ep.ordered {
		return
	}
	for i, o := range ep.order {
		if o == d {
			ep.order = append(ep.order[:i], ep.order[i+1:]...)
			return
		}
	}
}

// head reports whether d may go next (always, unless the endpoint is ordered and d is not its oldest).
func (ep *endpoint) head(d *delivery) bool {
	return len(ep.order) == 0 || ep.order[0] == d
}

// maxInFlight is the endpoint's concurrency: one when ordered.
func (s *Service) maxInFlight(ep *endpoint) int {
	if ep.ordered {
		return 1
	}
	return s.cfg.MaxInFlight
}

// retryAfter reads a 429's or 503's Retry-After: delta-seconds or an HTTP date; zero when absent,
// unparsable or not in the future.
func retryAfter(status int, header string, now time.Time) time.Duration {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if n, err := strconv.ParseInt(header, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(365*24*3600))) * time.Second
	}
	if t, err := http.ParseTime(header); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// maxDelay is the longest delay of the retry schedule (the cap on Retry-After).
func (s *Service) maxDelay() time.Duration {
	var m time.Duration
	for _, d := range s.cfg.Schedule {
		m = max(m, d)
	}
	return m
}
