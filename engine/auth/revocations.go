package auth

import (
	"sync"
	"time"
)

// Revocation names revoked tokens: one token by its "jti" (of tokens of TenantID only, when set:
// a tenant's operator cannot revoke another tenant's tokens), or every token of a subject (of
// TenantID, "" for the core realm) issued before IssuedBefore. It is honoured until Until — the revoked
// token's exp, or for a subject the latest exp a token issued before IssuedBefore may have.
type Revocation struct {
	TokenID      string
	TenantID     string
	Subject      string
	IssuedBefore time.Time
	Until        time.Time
}

// Revocations is the set of live revocations of one process; the zero value is empty and ready.
// It is safe for concurrent use; expired entries are dropped as they are met.
type Revocations struct {
	mu        sync.RWMutex
	byToken   map[string]tokenRevocation // jti ->
	bySubject map[subjectKey]subjectRevocation
}

type subjectKey struct{ tenant, subject string }

type subjectRevocation struct{ issuedBefore, until time.Time }

type tokenRevocation struct {
	until  time.Time
	tenant string // "" = a token of any tenant
}

// Add records r. A later revocation of the same subject keeps the later IssuedBefore and Until.
func (rs *Revocations) Add(r Revocation) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r.TokenID != "" {
		if rs.byToken == nil {
			rs.byToken = map[string]tokenRevocation{}
		}
		cur, ok := rs.byToken[r.TokenID]
		if !ok || r.Until.After(cur.until) {
			cur.until = r.Until
		}
		if !ok || r.TenantID == "" {
			cur.tenant = r.TenantID // a core revocation widens a tenant's
		}
		rs.byToken[r.TokenID] = cur
		return
	}
	if rs.bySubject == nil {
		rs.bySubject = map[subjectKey]subjectRevocation{}
	}
	k := subjectKey{r.TenantID, r.Subject}
	cur := rs.bySubject[k]
	if r.IssuedBefore.After(cur.issuedBefore) {
		cur.issuedBefore = r.IssuedBefore
	}
	if r.Until.After(cur.until) {
		cur.until = r.Until
	}
	rs.bySubject[k] = cur
}

// Revoked reports whether p's token is revoked at now. A token without "iat" counts as issued
// at the epoch (before any IssuedBefore).
func (rs *Revocations) Revoked(p *Principal, now time.Time) bool {
	if rs == nil || p == nil || p.Anonymous {
		return false
	}
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	if len(rs.byToken) == 0 && len(rs.bySubject) == 0 {
		return false
	}
	if p.TokenID != "" {
		if t, ok := rs.byToken[p.TokenID]; ok && now.Before(t.until) && (t.tenant == "" || t.tenant == p.TenantID) {
			return true
		}
	}
	if s, ok := rs.bySubject[subjectKey{p.TenantID, p.Subject}]; ok && now.Before(s.until) && p.IssuedAt.Before(s.issuedBefore) {
		return true
	}
	return false
}

// Prune drops the revocations that ended before now.
func (rs *Revocations) Prune(now time.Time) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for k, t := range rs.byToken {
		if !now.Before(t.until) {
			delete(rs.byToken, k)
		}
	}
	for k, s := range rs.bySubject {
		if !now.Before(s.until) {
			delete(rs.bySubject, k)
		}
	}
}

// Len is the number of live entries (for metrics and tests).
func (rs *Revocations) Len() int {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	return len(rs.byToken) + len(rs.bySubject)
}
