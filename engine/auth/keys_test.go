package auth

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestUnknownKIDRefreshRateLimit(t *testing.T) {
	p := newIDP(t)
	v, clk := newVerifier(t, p)
	ctx := context.Background()
	good := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("core", nil)})
	unknown := sign(t, tok{jwt.SigningMethodRS256, rsaKey2, "nope", p.claims("core", nil)})

	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
	if d, j := p.discovery.Load(), p.jwks.Load(); d != 1 || j != 1 {
		t.Fatalf("first use: discovery %d jwks %d, want 1 1", d, j)
	}
	// Within the interval of the first fetch: no refresh at all.
	if ReasonOf(must2(v.Verify(ctx, unknown))) != ReasonUnknownKID || p.jwks.Load() != 1 {
		t.Fatalf("unknown kid within the interval must be rejected without a fetch (jwks=%d)", p.jwks.Load())
	}
	// After the interval: one refresh, then reject.
	clk.advance(6 * time.Second)
	if ReasonOf(must2(v.Verify(ctx, unknown))) != ReasonUnknownKID || p.jwks.Load() != 2 {
		t.Fatalf("unknown kid after the interval: want one refresh then reject (jwks=%d)", p.jwks.Load())
	}
	// A burst of 100 concurrent unknown-kid tokens after the interval: at most one refresh.
	clk.advance(6 * time.Second)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if r := ReasonOf(must2(v.Verify(ctx, unknown))); r != ReasonUnknownKID {
				t.Errorf("reason %q", r)
			}
		})
	}
	wg.Wait()
	if j := p.jwks.Load(); j != 3 {
		t.Fatalf("burst caused %d refreshes, want 1", j-2)
	}
	if p.discovery.Load() != 1 {
		t.Fatalf("discovery must be cached, fetched %d times", p.discovery.Load())
	}
	// Known keys keep working throughout.
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatal(err)
	}
}

func TestKeyRotation(t *testing.T) {
	p := newIDP(t)
	v, clk := newVerifier(t, p)
	ctx := context.Background()
	old := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("tenant-a", nil)})
	rotated := sign(t, tok{jwt.SigningMethodRS256, rsaKey2, "rsa2", p.claims("tenant-a", nil)})
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.keys["rsa2"] = rsaKey2
	p.mu.Unlock()
	clk.advance(6 * time.Second)
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatalf("rotated key not accepted after refresh: %v", err)
	}
	// The old key is removed by the IdP: rejected once the cached keys are older than JWKSMaxAge.
	p.mu.Lock()
	delete(p.keys, "rsa1")
	p.mu.Unlock()
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatalf("old key should still be cached: %v", err)
	}
	clk.advance(time.Hour + time.Second)
	old2 := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", jwt.MapClaims{
		"iss": p.base + "/realms/tenant-a", "aud": Audience, "exp": clk.now().Add(time.Hour).Unix()}})
	if r := ReasonOf(must2(v.Verify(ctx, old2))); r != ReasonUnknownKID {
		t.Fatalf("removed key: reason %q, want unknown-kid", r)
	}
}

func TestKeySourceFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(p *idp)
	}{
		{"discovery issuer mismatch", func(p *idp) { p.badIssuer = true }},
		{"jwks larger than 1 MiB", func(p *idp) { p.bigJWKS = true }},
		{"only unusable keys", func(p *idp) {
			p.keys = nil
			p.extraJWKS = `{"kty":"oct","kid":"h","k":"c2VjcmV0"},{"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"}`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			tt.setup(p)
			v, _ := newVerifier(t, p)
			tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("core", nil)})
			if r := ReasonOf(must2(v.Verify(context.Background(), tk))); r != ReasonKeysUnavailable {
				t.Fatalf("reason %q, want %q", r, ReasonKeysUnavailable)
			}
			// A failed fetch is rate limited too.
			n := p.requests.Load()
			if r := ReasonOf(must2(v.Verify(context.Background(), tk))); r != ReasonKeysUnavailable || p.requests.Load() != n {
				t.Fatalf("retry within the interval: reason %q, requests +%d", r, p.requests.Load()-n)
			}
		})
	}
}

func TestEncKeysIgnored(t *testing.T) {
	p := newIDP(t)
	p.extraJWKS = `{"kty":"oct","kid":"h","k":"c2VjcmV0"}`
	v, _ := newVerifier(t, p)
	tk := sign(t, tok{jwt.SigningMethodES256, ecKey, "ec1", p.claims("core", nil)})
	if _, err := v.Verify(context.Background(), tk); err != nil {
		t.Fatalf("usable keys must load despite an unusable one: %v", err)
	}
}

func TestCloseAndConfig(t *testing.T) {
	p := newIDP(t)
	v, _ := newVerifier(t, p)
	v.Close()
	tk := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("core", nil)})
	if r := ReasonOf(must2(v.Verify(context.Background(), tk))); r != ReasonClosed {
		t.Fatalf("reason %q after Close", r)
	}
	for _, cfg := range []Config{{}, {IssuerBase: "ftp://x"}, {IssuerBase: "relative/path"}, {IssuerBase: "http://x", JWKSRefreshMinInterval: -1}} {
		if _, err := NewVerifier(cfg, nil); err == nil {
			t.Errorf("NewVerifier(%+v) accepted", cfg)
		}
	}
	v2, err := NewVerifier(Config{IssuerBase: "http://x/auth", HTTPClient: http.DefaultClient}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	// Without a TenantResolver only the core realm is accepted.
	tenantTok := sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", jwt.MapClaims{"iss": "http://x/auth/realms/t", "aud": Audience, "exp": time.Now().Add(time.Hour).Unix()}})
	if r := ReasonOf(must2(v2.Verify(context.Background(), tenantTok))); r != ReasonUnknownIssuer {
		t.Fatalf("reason %q", r)
	}
}

func must2(_ *Principal, err error) error { return err }

// TestUnknownKIDLogged: a token signed with a key id no key set holds is refused with a WARN
// naming the kid and the issuer (never the token), at most once per interval with the number
// suppressed.
func TestUnknownKIDLogged(t *testing.T) {
	p := newIDP(t)
	var buf bytes.Buffer
	v, err := NewVerifier(Config{IssuerBase: p.base, Logger: slog.New(slog.NewTextHandler(&buf, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	clk := &clock{t: time.Now()}
	v.now = clk.now
	ctx := context.Background()
	unknown := sign(t, tok{jwt.SigningMethodRS256, rsaKey2, "other-instance-key", p.claims("core", nil)})
	for range 3 {
		if r := ReasonOf(must2(v.Verify(ctx, unknown))); r != ReasonUnknownKID {
			t.Fatalf("reason %q", r)
		}
	}
	clk.advance(unknownKIDLogInterval + time.Second)
	_ = must2(v.Verify(ctx, unknown))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2 (one per interval):\n%s", len(lines), buf.String())
	}
	for _, want := range []string{"level=WARN", "kid=other-instance-key", "issuer=" + p.base + "/realms/core", "--dev-signing-key"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], "suppressed=2") {
		t.Errorf("second line %q: want suppressed=2", lines[1])
	}
	if strings.Contains(buf.String(), unknown[:20]) {
		t.Error("the token was logged")
	}
}
