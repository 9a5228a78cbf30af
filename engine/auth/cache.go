package auth

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"

	"github.com/MicahParks/jwkset"
)

// tokenCache remembers verified tokens until their exp, as API gateways do: a signature check
// (RS256 ≈ 30 µs of CPU) and the JSON parse of the claims are most of what an authenticated
// request costs (profile in BENCHMARKS.md §2d). It is keyed by the SHA-256 of the token bytes, so
// it never holds a token. An entry is tied to the realm key that verified it:
//   - it is used only while that realm's keys are younger than Config.JWKSMaxAge; older keys make
//     the request take the full path, which refreshes them;
//   - after a refresh it is kept only if the new key set still holds its kid (a key the identity
//     provider removed stops being accepted at the same moment as for uncached tokens);
//   - a tenant realm's entry is used only while the realm still maps to the same tenant.
//
// pushgate has no token revocation list; one added later must call purge.
type tokenCache struct {
	max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]*cachedToken
}

type cachedToken struct {
	p     *Principal
	exp   time.Time
	rk    *realmKeys
	store jwkset.Storage // the key set that verified it (or a later one that still holds kid); guarded by tokenCache.mu
	kid   string
	realm string
}

func newTokenCache(max int) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: max, m: make(map[[sha256.Size]byte]*cachedToken)}
}

// tokenKey is the cache key of token. It hashes the string's bytes in place: converting a token
// (~1 KB) to a []byte copied it to the heap on every authenticated request; SHA-256 only reads it.
func tokenKey(token string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// get returns the cached principal of token, or nil when the full path must run.
func (c *tokenCache) get(v *Verifier, token string) *Principal {
	if c == nil {
		return nil
	}
	h := tokenKey(token)
	c.mu.Lock()
	e := c.m[h]
	var verifiedBy jwkset.Storage
	if e != nil {
		verifiedBy = e.store
	}
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	now := v.now()
	if !now.Before(e.exp) || !c.stillValid(v, e, verifiedBy, now) {
		c.mu.Lock()
		if c.m[h] == e {
			delete(c.m, h)
		}
		c.mu.Unlock()
		return nil
	}
	return e.p
}

// stillValid checks the entry against the realm's current keys and tenant mapping.
func (c *tokenCache) stillValid(v *Verifier, e *cachedToken, verifiedBy jwkset.Storage, now time.Time) bool {
	if e.realm != RealmCore {
		if t, ok := v.tenants.TenantByRealm(e.realm); !ok || t != e.p.TenantID {
			return false
		}
	}
	rk := e.rk
	rk.mu.Lock()
	store, loadedAt := rk.store, rk.loadedAt
	rk.mu.Unlock()
	if store == nil || now.Sub(loadedAt) >= v.cfg.JWKSMaxAge {
		return false // stale keys: the full path refreshes them
	}
	if store == verifiedBy {
		return true
	}
	if e.kid == "" || !hasKey(v.ctx, store, e.kid) {
		return false // rotated away
	}
	c.mu.Lock()
	e.store = store
	c.mu.Unlock()
	return true
}

// put remembers a verified token. A full cache drops an arbitrary eighth of its entries (Go's
// map order is random), preferring none in particular: a cache miss only costs a verification.
func (c *tokenCache) put(token string, e *cachedToken) {
	if c == nil || e.rk == nil || e.store == nil || e.exp.IsZero() {
		return
	}
	h := tokenKey(token)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		drop := max(1, c.max/8)
		for k := range c.m {
			delete(c.m, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.m[h] = e
}

// len is the number of entries (tests, metrics).
func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
