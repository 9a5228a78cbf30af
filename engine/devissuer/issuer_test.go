package devissuer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pushgate/pushgate/engine/auth"
)

const tenantURN = "urn:ads:platform:tenant-service:v2:/tenants/aaaaaaaaaaaaaaaaaaaaaaaa"

type resolver map[string]string

func (r resolver) TenantByRealm(realm string) (string, bool) {
	t, ok := r[realm]
	return t, ok
}

// serve starts an httptest server that serves the issuer's discovery and JWKS documents the way
// the embedded server does, and returns the issuer base it is reachable at.
func serve(t *testing.T, get func() *Issuer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/auth/realms/")
		realm, what, _ := strings.Cut(rest, "/")
		switch {
		case ok && what == ".well-known/openid-configuration":
			w.Write(get().DiscoveryJSON(realm))
		case ok && what == "protocol/openid-connect/certs":
			w.Write(get().JWKSJSON())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/auth"
}

func TestMintVerifyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var iss *Issuer
	base := serve(t, func() *Issuer { return iss })
	var err error
	if iss, err = Open(dir, base); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{IssuerBase: base}, resolver{RealmForTenantName("Tenant A"): tenantURN})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tests := []struct {
		name       string
		claims     Claims
		wantReason string
		check      func(t *testing.T, p *auth.Principal)
	}{
		{name: "tenant user with roles", claims: Claims{Realm: "tenant-a", Name: "Ann", Subject: "ann-1",
			Roles: []string{"stream-listener", "urn:ads:platform:form-service:form-applicant", auth.Audience + ":stream-listener"}},
			check: func(t *testing.T, p *auth.Principal) {
				want := []string{"stream-listener", "urn:ads:platform:form-service:form-applicant", auth.Audience + ":stream-listener"}
				if p.TenantID != tenantURN || p.Core || p.Subject != "ann-1" || p.Name != "Ann" || !slices.Equal(p.Roles, want) {
					t.Fatalf("principal %+v", p)
				}
			}},
		{name: "core user random subject", claims: Claims{Realm: "core", Roles: []string{"urn:ads:platform:configuration-service:configured-service"}},
			check: func(t *testing.T, p *auth.Principal) {
				if !p.Core || len(p.Subject) != 32 || p.Name != p.Subject || !p.HasRole("urn:ads:platform:configuration-service:configured-service") {
					t.Fatalf("principal %+v", p)
				}
				if d := time.Until(p.Expires); d < 59*time.Minute || d > time.Hour+time.Minute {
					t.Fatalf("zero TTL should mean 1h, expires in %v", d)
				}
			}},
		{name: "negative TTL is expired", claims: Claims{Realm: "core", TTL: -time.Hour}, wantReason: auth.ReasonExpired},
		{name: "unknown realm", claims: Claims{Realm: "tenant-z"}, wantReason: auth.ReasonUnknownIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint(tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			p, err := v.Verify(context.Background(), tok)
			if tt.wantReason != "" {
				if r := auth.ReasonOf(err); r != tt.wantReason {
					t.Fatalf("reason %q (%v), want %q", r, err, tt.wantReason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestMintClaims(t *testing.T) {
	iss, err := Open(t.TempDir(), "http://127.0.0.1:8080/auth/")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Mint(Claims{Realm: "my-tenant", Subject: "s", Roles: []string{"r", "a:b:c", "a:b:d", "x:y", "r"}, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != iss.KID() || parsed.Method.Alg() != "RS256" {
		t.Fatalf("header %v", parsed.Header)
	}
	got, _ := json.Marshal(parsed.Claims)
	var c struct {
		Iss            string                         `json:"iss"`
		Aud            []string                       `json:"aud"`
		RealmAccess    map[string][]string            `json:"realm_access"`
		ResourceAccess map[string]map[string][]string `json:"resource_access"`
		Exp, Iat       int64
	}
	if err := json.Unmarshal(got, &c); err != nil {
		t.Fatal(err)
	}
	if c.Iss != "http://127.0.0.1:8080/auth/realms/my-tenant" {
		t.Errorf("iss %q", c.Iss)
	}
	if want := []string{Audience, "a:b", "x"}; !slices.Equal(c.Aud, want) {
		t.Errorf("aud %q, want %q", c.Aud, want)
	}
	if !slices.Equal(c.RealmAccess["roles"], []string{"r"}) {
		t.Errorf("realm roles %v", c.RealmAccess)
	}
	if !slices.Equal(c.ResourceAccess["a:b"]["roles"], []string{"c", "d"}) || !slices.Equal(c.ResourceAccess["x"]["roles"], []string{"y"}) {
		t.Errorf("client roles %v", c.ResourceAccess)
	}
	if c.Exp-c.Iat != 60 {
		t.Errorf("exp-iat = %d, want 60", c.Exp-c.Iat)
	}
	if _, err := iss.Mint(Claims{}); err == nil {
		t.Error("empty realm accepted")
	}
}

func TestFilesAndLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	iss, err := Open(dir, "http://127.0.0.1:8080/auth")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	b, err := os.ReadFile(filepath.Join(dir, IssuerFile))
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]string
	if err := json.Unmarshal(b, &f); err != nil || f["issuerBase"] != "http://127.0.0.1:8080/auth" || f["kid"] != iss.KID() {
		t.Fatalf("issuer file %s (%v)", b, err)
	}
	pemBytes, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	if !strings.HasPrefix(string(pemBytes), "-----BEGIN PRIVATE KEY-----") {
		t.Fatal("key must be PKCS#8 PEM")
	}

	// Reopen (new public URL): same key, mode restored to 0600, issuer file updated.
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	iss2, err := Open(dir, "http://localhost:9090/auth")
	if st, _ := os.Stat(filepath.Join(dir, KeyFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v after reopen", st.Mode().Perm())
	}
	if err != nil || iss2.KID() != iss.KID() {
		t.Fatalf("reopen: kid %q vs %q, %v", iss2.KID(), iss.KID(), err)
	}
	// Load reads the files only (no server involved) and mints verifiable tokens.
	loaded, err := Load(dir)
	if err != nil || loaded.KID() != iss.KID() || loaded.IssuerBase() != "http://localhost:9090/auth" {
		t.Fatalf("Load: %+v, %v", loaded, err)
	}
	if _, err := loaded.Mint(Claims{Realm: "core"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("Load of an empty dir must fail")
	}
	// A kid that does not match the key is refused.
	os.WriteFile(filepath.Join(dir, IssuerFile), []byte(`{"issuerBase":"http://x/auth","kid":"other"}`), 0o644)
	if _, err := Load(dir); err == nil {
		t.Fatal("mismatched kid accepted")
	}
}

func TestDocuments(t *testing.T) {
	iss, err := Open(t.TempDir(), "http://h/auth")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(iss.DiscoveryJSON("core"), &d); err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != "http://h/auth/realms/core" || d["jwks_uri"] != "http://h/auth/realms/core/protocol/openid-connect/certs" {
		t.Fatalf("discovery %v", d)
	}
	var k struct{ Keys []map[string]string }
	if err := json.Unmarshal(iss.JWKSJSON(), &k); err != nil || len(k.Keys) != 1 {
		t.Fatal(err)
	}
	if key := k.Keys[0]; key["kid"] != iss.KID() || key["alg"] != "RS256" || key["use"] != "sig" || key["kty"] != "RSA" || key["e"] != "AQAB" {
		t.Fatalf("jwk %v", key)
	}
}

func TestRealmForTenantName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Tenant A", "tenant-a"},
		{"my tenant  two", "my-tenant--two"},
		{"abc", "abc"},
	}
	for _, tt := range tests {
		if got := RealmForTenantName(tt.in); got != tt.want {
			t.Errorf("RealmForTenantName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSharedKeyFile: instances started together on one --dev-signing-key file end up with one
// key (the first creator's; nobody replaces it), so a token minted by any verifies on all, and
// `pushgate token` (Load) finds the shared file through the issuer file.
func TestSharedKeyFile(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "fleet-key.pem")
	const n = 4
	issuers := make([]*Issuer, n)
	errs := make(chan error, n)
	for i := range issuers {
		go func() {
			var err error
			issuers[i], err = OpenShared(filepath.Join(t.TempDir(), "data"), "http://lb.example/auth", shared)
			errs <- err
		}()
	}
	for range issuers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, iss := range issuers {
		if iss.KID() != issuers[0].KID() {
			t.Fatalf("instance %d has key %s, instance 0 %s: the fleet does not share one key", i, iss.KID(), issuers[0].KID())
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := OpenShared(dir, "http://lb.example/auth", shared); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); !os.IsNotExist(err) {
		t.Fatalf("a key was written into the data dir too (%v)", err)
	}
	loaded, err := Load(dir)
	if err != nil || loaded.KID() != issuers[0].KID() {
		t.Fatalf("Load with a shared key: %v, %v", loaded, err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(shared), ".*.new-*")); len(m) != 0 {
		t.Fatalf("temporary key files left behind: %v", m)
	}
}
