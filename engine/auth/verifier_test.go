package auth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const tenantURN = "urn:ads:platform:tenant-service:v2:/tenants/aaaaaaaaaaaaaaaaaaaaaaaa"

var (
	rsaKey1 = mustRSA()
	rsaKey2 = mustRSA()
	ecKey   = mustEC()
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// idp is a fake identity provider serving discovery and JWKS for every realm.
type idp struct {
	srv       *httptest.Server
	base      string
	mu        sync.Mutex
	keys      map[string]crypto.Signer // published keys by kid
	extraJWKS string                   // raw JSON appended to the key list
	badIssuer bool
	bigJWKS   bool
	discovery atomic.Int64
	jwks      atomic.Int64
	requests  atomic.Int64
}

func newIDP(t testing.TB) *idp {
	p := &idp{keys: map[string]crypto.Signer{"rsa1": rsaKey1, "ec1": ecKey}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	p.base = p.srv.URL + "/auth"
	return p
}

func (p *idp) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	rest, ok := strings.CutPrefix(r.URL.Path, "/auth/realms/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	realm, what, _ := strings.Cut(rest, "/")
	iss := p.base + "/realms/" + realm
	p.mu.Lock()
	defer p.mu.Unlock()
	switch what {
	case ".well-known/openid-configuration":
		p.discovery.Add(1)
		if p.badIssuer {
			iss += "x"
		}
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": p.base + "/realms/" + realm + "/protocol/openid-connect/certs"})
	case "protocol/openid-connect/certs":
		p.jwks.Add(1)
		if p.bigJWKS {
			w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`))
			return
		}
		var parts []string
		for kid, k := range p.keys {
			alg := jwkset.AlgRS256
			if _, isEC := k.(*ecdsa.PrivateKey); isEC {
				alg = jwkset.AlgES256
			}
			jwk, err := jwkset.NewJWKFromKey(k.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
			if err != nil {
				panic(err)
			}
			b, _ := json.Marshal(jwk.Marshal())
			parts = append(parts, string(b))
		}
		if p.extraJWKS != "" {
			parts = append(parts, p.extraJWKS)
		}
		w.Write([]byte(`{"keys":[` + strings.Join(parts, ",") + `]}`))
	default:
		http.NotFound(w, r)
	}
}

type resolver map[string]string

func (r resolver) TenantByRealm(realm string) (string, bool) {
	t, ok := r[realm]
	return t, ok
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newVerifier(t *testing.T, p *idp) (*Verifier, *clock) {
	t.Helper()
	v, err := NewVerifier(Config{IssuerBase: p.base + "/"}, resolver{"tenant-a": tenantURN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	c := &clock{t: time.Now()}
	v.now = c.now
	return v, c
}

type tok struct {
	method jwt.SigningMethod
	key    any
	kid    string
	claims jwt.MapClaims
}

func (p *idp) claims(realm string, extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": p.base + "/realms/" + realm,
		"aud": []string{"account", Audience},
		"sub": "user-1",
		"exp": time.Now().Add(time.Hour).Unix(),
		"iat": time.Now().Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func sign(t *testing.T, tk tok) string {
	t.Helper()
	j := jwt.NewWithClaims(tk.method, tk.claims)
	if tk.kid != "" {
		j.Header["kid"] = tk.kid
	}
	s, err := j.SignedString(tk.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	p := newIDP(t)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey1.PublicKey))})
	rs := func(realm string, extra jwt.MapClaims) string {
		return sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims(realm, extra)})
	}
	tests := []struct {
		name       string
		token      string
		wantReason string
		check      func(t *testing.T, pr *Principal)
		noRequests bool
	}{
		{name: "valid RS256 tenant realm", token: rs("tenant-a", jwt.MapClaims{"name": "Ann", "preferred_username": "ann"}),
			check: func(t *testing.T, pr *Principal) {
				if pr.TenantID != tenantURN || pr.Core || pr.Anonymous || pr.Subject != "user-1" || pr.Name != "Ann" || pr.Expires.IsZero() {
					t.Fatalf("principal %+v", pr)
				}
			}},
		{name: "valid ES256 core realm", token: sign(t, tok{jwt.SigningMethodES256, ecKey, "ec1", p.claims("core", jwt.MapClaims{"preferred_username": "svc"})}),
			check: func(t *testing.T, pr *Principal) {
				if !pr.Core || pr.TenantID != "" || pr.Name != "svc" {
					t.Fatalf("principal %+v", pr)
				}
			}},
		{name: "roles", token: rs("tenant-a", jwt.MapClaims{
			"realm_access":    map[string]any{"roles": []string{"realm-role", "stream-listener"}},
			"resource_access": map[string]any{Audience: map[string]any{"roles": []string{"stream-listener"}}, "urn:ads:platform:form-service": map[string]any{"roles": []string{"form-applicant"}}},
		}), check: func(t *testing.T, pr *Principal) {
			want := []string{"realm-role", "stream-listener", "urn:ads:platform:form-service:form-applicant", Audience + ":stream-listener"}
			if !slices.Equal(pr.Roles, want) {
				t.Fatalf("roles %q, want %q", pr.Roles, want)
			}
		}},
		{name: "aud as string", token: rs("core", jwt.MapClaims{"aud": Audience})},
		{name: "expired", token: rs("tenant-a", jwt.MapClaims{"exp": time.Now().Add(-time.Minute).Unix()}), wantReason: ReasonExpired},
		{name: "expired within leeway accepted", token: rs("tenant-a", jwt.MapClaims{"exp": time.Now().Add(-10 * time.Second).Unix()})},
		{name: "missing exp", token: rs("tenant-a", jwt.MapClaims{"exp": nil}), wantReason: ReasonMalformed},
		{name: "future nbf", token: rs("tenant-a", jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()}), wantReason: ReasonNotYetValid},
		{name: "wrong aud", token: rs("tenant-a", jwt.MapClaims{"aud": []string{"account"}}), wantReason: ReasonBadAudience},
		{name: "missing aud", token: rs("tenant-a", jwt.MapClaims{"aud": nil}), wantReason: ReasonBadAudience},
		{name: "wrong issuer base", token: sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "rsa1", p.claims("core", jwt.MapClaims{"iss": "https://evil.example/auth/realms/core"})}), wantReason: ReasonUnknownIssuer, noRequests: true},
		{name: "unconfigured realm", token: rs("tenant-z", nil), wantReason: ReasonUnknownIssuer, noRequests: true},
		{name: "issuer with extra path", token: rs("core/../x", nil), wantReason: ReasonUnknownIssuer, noRequests: true},
		{name: "missing issuer", token: rs("core", jwt.MapClaims{"iss": nil}), wantReason: ReasonUnknownIssuer, noRequests: true},
		{name: "alg none", token: sign(t, tok{jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa1", p.claims("core", nil)}), wantReason: ReasonUnsupportedAlg, noRequests: true},
		{name: "HS256 with public key bytes", token: sign(t, tok{jwt.SigningMethodHS256, pubPEM, "rsa1", p.claims("core", nil)}), wantReason: ReasonUnsupportedAlg, noRequests: true},
		{name: "RS384 not pinned", token: sign(t, tok{jwt.SigningMethodRS384, rsaKey1, "rsa1", p.claims("core", nil)}), wantReason: ReasonUnsupportedAlg, noRequests: true},
		{name: "signed by unpublished key", token: sign(t, tok{jwt.SigningMethodRS256, rsaKey2, "rsa1", p.claims("core", nil)}), wantReason: ReasonInvalidSignature},
		{name: "ES256 token with RSA kid", token: sign(t, tok{jwt.SigningMethodES256, ecKey, "rsa1", p.claims("core", nil)}), wantReason: ReasonInvalidSignature},
		{name: "no kid (one key would do)", token: sign(t, tok{jwt.SigningMethodRS256, rsaKey1, "", p.claims("core", nil)}), wantReason: ReasonMalformed, noRequests: true},
		{name: "re-spelled signature", token: respell(t, rs("core", nil)), wantReason: ReasonMalformed},
		{name: "empty", token: "", wantReason: ReasonMalformed, noRequests: true},
		{name: "garbage", token: "not a token", wantReason: ReasonMalformed, noRequests: true},
		{name: "garbage segments", token: "a.b.c", wantReason: ReasonMalformed, noRequests: true},
		{name: "many dots", token: strings.Repeat(".", 5000), wantReason: ReasonMalformed, noRequests: true},
		{name: "oversized", token: rs("core", jwt.MapClaims{"pad": strings.Repeat("x", 20<<10)}), wantReason: ReasonMalformed, noRequests: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := newVerifier(t, p)
			before := p.requests.Load()
			pr, err := v.Verify(context.Background(), tt.token)
			if tt.noRequests && p.requests.Load() != before {
				t.Fatalf("made %d HTTP requests, want none", p.requests.Load()-before)
			}
			if tt.wantReason != "" {
				if got := ReasonOf(err); got != tt.wantReason {
					t.Fatalf("reason %q (err %v), want %q", got, err, tt.wantReason)
				}
				if !errors.Is(err, ErrUnauthorized) || pr != nil {
					t.Fatalf("err %v must wrap ErrUnauthorized and return no principal", err)
				}
				if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token[:20]) {
					t.Fatal("error contains the token")
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.check != nil {
				tt.check(t, pr)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// respell returns token with the last character of its signature replaced by another spelling of
// the same bytes (unpadded base64 leaves unused low bits there).
func respell(t *testing.T, token string) string {
	t.Helper()
	sig := token[strings.LastIndexByte(token, '.')+1:]
	want, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		alt := sig[:len(sig)-1] + string(c)
		if b, err := base64.RawURLEncoding.DecodeString(alt); alt != sig && err == nil && bytes.Equal(b, want) {
			return token[:len(token)-1] + string(c)
		}
	}
	t.Fatal("no other spelling of the signature")
	return ""
}
