package auth

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// A verified token is answered from the cache until its exp, without a signature check.
func TestTokenCacheHitsUntilExp(t *testing.T) {
	p := newIDP(t)
	v, clk := newVerifier(t, p)
	ctx := context.Background()
	tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("tenant-a", jwt.MapClaims{"exp": clk.now().Add(time.Minute).Unix()})})
	first, err := v.Verify(ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Verify(ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	if v.Stats.CacheHits.Load() != 1 || first != second {
		t.Fatalf("second Verify: cache hits %d, same principal %v", v.Stats.CacheHits.Load(), first == second)
	}
	// Past exp (and the leeway) the token is rejected, not served from the cache.
	clk.advance(time.Minute + time.Second)
	if _, err := v.Verify(ctx, tk); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	hits := v.Stats.CacheHits.Load()
	clk.advance(time.Minute)
	if r := ReasonOf(must2(v.Verify(ctx, tk))); r != ReasonExpired {
		t.Fatalf("expired token: reason %q", r)
	}
	if v.Stats.CacheHits.Load() != hits {
		t.Fatal("an expired token was answered from the cache")
	}
}

// A key the identity provider removed stops a cached token as soon as the keys are refreshed.
func TestTokenCacheHonoursKeyRotation(t *testing.T) {
	p := newIDP(t)
	v, clk := newVerifier(t, p)
	ctx := context.Background()
	old := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("tenant-a", jwt.MapClaims{"exp": clk.now().Add(3 * time.Hour).Unix()})})
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	// Rotation: rsa2 added, rsa1 kept. A token signed with rsa2 triggers a refresh; the cached
	// rsa1 token stays valid because the new key set still holds rsa1.
	p.mu.Lock()
	p.keys["rsa2"] = rsaKey2
	p.mu.Unlock()
	clk.advance(6 * time.Second)
	rotated := sign(t, tok{jwt.SigningMethodRS256, rsaKey2, "rsa2", p.claims("tenant-a", jwt.MapClaims{"exp": clk.now().Add(3 * time.Hour).Unix()})})
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatal(err)
	}
	hits := v.Stats.CacheHits.Load()
	if _, err := v.Verify(ctx, old); err != nil || v.Stats.CacheHits.Load() != hits+1 {
		t.Fatalf("rsa1 still published: err %v, hit %v", err, v.Stats.CacheHits.Load() == hits+1)
	}
	// rsa1 removed; once the keys are older than JWKSMaxAge the next request refreshes them and the
	// cached rsa1 token is refused.
	p.mu.Lock()
	delete(p.keys, "rsa1")
	p.mu.Unlock()
	clk.advance(time.Hour + time.Second)
	if r := ReasonOf(must2(v.Verify(ctx, old))); r != ReasonUnknownKID {
		t.Fatalf("token of a removed key: reason %q, want %q", r, ReasonUnknownKID)
	}
	// A refresh triggered by another token also drops it (the entry is tied to the key set).
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatal(err)
	}
}

// An entry is dropped when the refreshed key set lacks its kid, even before JWKSMaxAge.
func TestTokenCacheDropsEntryOnRefreshWithoutItsKey(t *testing.T) {
	p := newIDP(t)
	v, clk := newVerifier(t, p)
	ctx := context.Background()
	old := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("core", nil)})
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	delete(p.keys, "rsa1")
	p.keys["rsa2"] = rsaKey2
	p.mu.Unlock()
	clk.advance(6 * time.Second)
	// An unknown kid refreshes the realm's keys.
	if _, err := v.Verify(ctx, sign(t, tok{jwt.SigningMethodRS256, rsaKey2, "rsa2", p.claims("core", nil)})); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old); err == nil {
		t.Fatal("a cached token whose key was rotated away was accepted")
	}
}

// A tenant realm that no longer maps to the tenant stops its cached tokens.
func TestTokenCacheFollowsTheTenantMapping(t *testing.T) {
	p := newIDP(t)
	res := resolver{"tenant-a": tenantURN}
	v, err := NewVerifier(Config{IssuerBase: p.base}, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("tenant-a", nil)})
	if _, err := v.Verify(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	delete(res, "tenant-a")
	if r := ReasonOf(must2(v.Verify(context.Background(), tk))); r != ReasonUnknownIssuer {
		t.Fatalf("removed tenant: reason %q", r)
	}
}

// The cache is bounded, and negative TokenCacheSize turns it off.
func TestTokenCacheBounded(t *testing.T) {
	p := newIDP(t)
	v, err := NewVerifier(Config{IssuerBase: p.base, TokenCacheSize: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	for i := 0; i < 50; i++ {
		tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("core", jwt.MapClaims{"sub": "u" + string(rune('a'+i%26)) + string(rune('a'+i/26))})})
		if _, err := v.Verify(context.Background(), tk); err != nil {
			t.Fatal(err)
		}
		if n := v.tokens.len(); n > 8 {
			t.Fatalf("cache holds %d entries, max 8", n)
		}
	}
	off, err := NewVerifier(Config{IssuerBase: p.base, TokenCacheSize: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(off.Close)
	tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("core", nil)})
	for i := 0; i < 2; i++ {
		if _, err := off.Verify(context.Background(), tk); err != nil {
			t.Fatal(err)
		}
	}
	if off.Stats.CacheHits.Load() != 0 {
		t.Fatal("cache off, yet hits")
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	p := newIDP(b)
	v, err := NewVerifier(Config{IssuerBase: p.base}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	j := jwt.NewWithClaims(jwt.SigningMethodRS256, p.claims("core", nil))
	j.Header["kid"] = "rsa1"
	tk, _ := j.SignedString(rsaKey1)
	if _, err := v.Verify(context.Background(), tk); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), tk); err != nil {
			b.Fatal(err)
		}
	}
}

// A revocation made after a token was cached refuses it on the next Verify: the cache never
// answers for a revoked token (POST /push/v1/revocations while its holder keeps reconnecting).
func TestTokenCacheHonoursLaterRevocation(t *testing.T) {
	p := newIDP(t)
	v, clk := newVerifier(t, p)
	ctx := context.Background()
	tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("tenant-a", jwt.MapClaims{"exp": clk.now().Add(time.Hour).Unix(), "jti": "tok-1"})})
	for range 2 { // the second is a cache hit
		if _, err := v.Verify(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if v.Stats.CacheHits.Load() != 1 {
		t.Fatalf("cache hits %d, want 1", v.Stats.CacheHits.Load())
	}
	v.Revocations.Add(Revocation{TokenID: "tok-1", Until: clk.now().Add(time.Hour)})
	if r := ReasonOf(must2(v.Verify(ctx, tk))); r != ReasonRevoked {
		t.Fatalf("revoked cached token: reason %q, want %q", r, ReasonRevoked)
	}
}

// Verify keeps nothing of a token that aliases its caller's buffer (engine/api passes the
// Authorization header without a copy): once the buffer is overwritten, the principal is intact
// and the same token is still answered from the cache.
func TestVerifyKeepsNoAliasOfTheToken(t *testing.T) {
	p := newIDP(t)
	v, clk := newVerifier(t, p)
	ctx := context.Background()
	tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("tenant-a", jwt.MapClaims{"exp": clk.now().Add(time.Minute).Unix()})})
	buf := []byte(tk)
	first, err := v.Verify(ctx, unsafe.String(&buf[0], len(buf)))
	if err != nil {
		t.Fatal(err)
	}
	subject, tenant, id := first.Subject, first.TenantID, first.TokenID
	for i := range buf {
		buf[i] = 'x'
	}
	if first.Subject != subject || first.TenantID != tenant || first.TokenID != id {
		t.Fatal("the principal changed with its caller's buffer")
	}
	second, err := v.Verify(ctx, tk)
	if err != nil || second != first || v.Stats.CacheHits.Load() != 1 {
		t.Fatalf("the same token again: %v, cached %v, hits %d", err, second == first, v.Stats.CacheHits.Load())
	}
}
