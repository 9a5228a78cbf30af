package configsvc

import (
	"context"
	"encoding/json"
	"time"
)

const (
	eventNamespace = "configuration-service"
	docNamespace   = "platform"
	docName        = "push-service"
)

// Changes fires (coalesced, buffered 1) when a cached document was invalidated or expired, or a
// failed fetch is due for a retry, and the documents should be re-read through Documents.
func (r *Reader) Changes() <-chan struct{} { return r.changes }

// Observe inspects a domain event and, when it is a configuration-service event about
// platform:push-service for a tenant, evicts that tenant's document and signals Changes. The
// namespace is checked first, so other events cost one string comparison.
func (r *Reader) Observe(namespace, name, tenantURN string, payload, context []byte) {
	if namespace != eventNamespace || tenantURN == "" {
		return
	}
	if !aboutPushService(payload) && !aboutPushService(context) {
		return
	}
	r.mu.Lock()
	delete(r.cache, tenantURN)
	r.gen[tenantURN]++
	r.mu.Unlock()
	r.log.Debug("push-service configuration invalidated", "tenant", tenantURN, "event", name)
	r.notify()
}

// aboutPushService reports whether raw is a JSON object naming platform:push-service.
func aboutPushService(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	var v struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	return v.Namespace == docNamespace && v.Name == docName
}

// Start runs the expiry loop in a new goroutine until ctx is done; later calls are no-ops.
func (r *Reader) Start(ctx context.Context) {
	r.start.Do(func() { go r.loop(ctx) })
}

func (r *Reader) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, changed := r.sweep(time.Now())
		if changed {
			r.notify()
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.kick:
		}
	}
}

// sweep drops expired documents and due retries; it returns the next deadline (zero if none) and
// whether anything was dropped.
func (r *Reader) sweep(now time.Time) (next time.Time, changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for k, e := range r.cache {
		if !now.Before(e.expires) {
			delete(r.cache, k)
			changed = true
			continue
		}
		earliest(e.expires)
	}
	for k, due := range r.failed {
		if !now.Before(due) {
			delete(r.failed, k)
			changed = true
			continue
		}
		earliest(due)
	}
	return next, changed
}

// notify signals Changes without blocking.
func (r *Reader) notify() {
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// wake makes the expiry loop recompute its deadline.
func (r *Reader) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}
