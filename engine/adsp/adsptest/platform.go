package adsptest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client id and secret the token endpoint accepts.
const (
	ClientID     = "urn:ads:platform:push-service"
	ClientSecret = "stand-in-secret"
	Audience     = "urn:ads:platform:push-service"
)

// Tenant is a tenant as the tenant service answers it.
type Tenant struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Realm string `json:"realm"`
}

// Event is one request the event stand-in received.
type Event struct {
	Authorization string
	Body          map[string]any
}

// Platform is the running stand-in.
type Platform struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu             sync.Mutex
	tenants        []Tenant
	docs           map[string]string // tenant URN ("" = core) → document
	events         []Event
	tokens         map[string]time.Time // issued service tokens → expiry
	tokenRequests  int
	tokenLifetime  time.Duration
	serviceCalls   map[string]int // path prefix → requests
	eventFailures  int            // the next n event posts answer 503
	tenantRequests int
}

// Start runs a platform with no tenants and an empty core document; it stops with the test.
func Start(t testing.TB) *Platform {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Platform{key: key, docs: map[string]string{"": "{}"}, tokens: map[string]time.Time{},
		tokenLifetime: 300 * time.Second, serviceCalls: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the stand-in's base URL (DIRECTORY_URL and KEYCLOAK_ROOT_URL alike).
func (p *Platform) URL() string { return p.srv.URL }

// OIDCBase is <URL>/auth (pushgate's --oidc-base).
func (p *Platform) OIDCBase() string { return p.srv.URL + "/auth" }

// SetTokenLifetime sets expires_in of the service tokens issued from now on.
func (p *Platform) SetTokenLifetime(d time.Duration) {
	p.mu.Lock()
	p.tokenLifetime = d
	p.mu.Unlock()
}

// AddTenant registers a tenant with a new 24-hex id and a UUID realm, as tenantV2.ts createTenant
// does (realm = uuidv4()).
func (p *Platform) AddTenant(name string) Tenant {
	var id [12]byte
	var u [16]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	realm := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	tn := Tenant{ID: "urn:ads:platform:tenant-service:v2:/tenants/" + hex.EncodeToString(id[:]), Name: name, Realm: realm}
	p.mu.Lock()
	p.tenants = append(p.tenants, tn)
	p.mu.Unlock()
	return tn
}

// SetDocument sets the platform:push-service document of a tenant ("" = core).
func (p *Platform) SetDocument(tenantURN, doc string) {
	p.mu.Lock()
	p.docs[tenantURN] = doc
	p.mu.Unlock()
}

// Events returns the events posted so far.
func (p *Platform) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// FailEvents makes the next n event posts answer 503.
func (p *Platform) FailEvents(n int) {
	p.mu.Lock()
	p.eventFailures = n
	p.mu.Unlock()
}

// TokenRequests is the number of client-credentials requests answered.
func (p *Platform) TokenRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenRequests
}

// TenantRequests is the number of tenant-service requests answered.
func (p *Platform) TenantRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tenantRequests
}

// UserToken returns a token of realm for a user with the push-service client roles (which puts the
// push-service in aud, as Keycloak does) and the given realm roles.
func (p *Platform) UserToken(t testing.TB, realm, sub string, clientRoles, realmRoles []string) string {
	return p.Token(t, realm, sub, map[string][]string{Audience: clientRoles}, realmRoles)
}

// Token returns a token of realm with the client roles of resourceAccess (client id → roles) and
// the realm roles; aud is the push-service.
func (p *Platform) Token(t testing.TB, realm, sub string, resourceAccess map[string][]string, realmRoles []string) string {
	now := time.Now()
	ra := map[string]any{}
	for client, roles := range resourceAccess {
		ra[client] = map[string]any{"roles": roles}
	}
	claims := jwt.MapClaims{
		"iss": p.OIDCBase() + "/realms/" + realm, "sub": sub, "aud": []string{Audience},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "preferred_username": sub,
		"realm_access": map[string]any{"roles": realmRoles}, "resource_access": ra,
	}
	tk := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tk.Header["kid"] = "standin"
	s, err := tk.SignedString(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (p *Platform) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/auth/realms/"):
		p.keycloak(w, r, strings.TrimPrefix(path, "/auth/realms/"))
	case path == "/directory/v2/namespaces/platform/entries":
		p.directory(w)
	case strings.HasPrefix(path, "/api/tenant/v2/tenants"):
		if p.authorized(w, r) {
			p.tenant(w, r, strings.TrimPrefix(path, "/api/tenant/v2/tenants"))
		}
	case path == "/configuration/v2/configuration/platform/push-service/latest":
		if p.authorized(w, r) {
			p.configuration(w, r)
		}
	case path == "/event/v1/events" && r.Method == http.MethodPost:
		if p.authorized(w, r) {
			p.event(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// keycloak: discovery and JWKS of any realm, client credentials in the core realm
// (libs/adsp-service-sdk/src/access/tokenProvider.ts posts grant_type, client_id, client_secret to
// /auth/realms/core/protocol/openid-connect/token and reads access_token and expires_in).
func (p *Platform) keycloak(w http.ResponseWriter, r *http.Request, rest string) {
	realm, what, _ := strings.Cut(rest, "/")
	iss := p.OIDCBase() + "/realms/" + realm
	switch what {
	case ".well-known/openid-configuration":
		writeJSON(w, map[string]any{"issuer": iss, "jwks_uri": iss + "/protocol/openid-connect/certs",
			"token_endpoint": iss + "/protocol/openid-connect/token"})
	case "protocol/openid-connect/certs":
		pub := p.key.PublicKey
		writeJSON(w, map[string]any{"keys": []map[string]any{{"kty": "RSA", "kid": "standin", "use": "sig", "alg": "RS256",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}}})
	case "protocol/openid-connect/token":
		if realm != "core" || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
			r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("client_secret") != ClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]any{"error": "unauthorized_client"})
			return
		}
		var b [16]byte
		_, _ = rand.Read(b[:])
		tok := "svc-" + hex.EncodeToString(b[:])
		p.mu.Lock()
		p.tokenRequests++
		life := p.tokenLifetime
		p.tokens[tok] = time.Now().Add(life)
		p.mu.Unlock()
		writeJSON(w, map[string]any{"access_token": tok, "expires_in": int(life / time.Second), "token_type": "Bearer"})
	default:
		http.NotFound(w, r)
	}
}

func (p *Platform) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	exp, known := p.tokens[tok]
	p.mu.Unlock()
	if !ok || !known || time.Now().After(exp) {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]any{"errorMessage": "Unauthorized"})
		return false
	}
	return true
}

// directory: apps/directory-service/src/directory/router/util/getNamespaceEntries.ts getEntry —
// [{namespace, service, url, urn}], service entries (the service's root) and API entries
// ("<service>:<api>") alike, as directory.platform.json of the ADSP repository seeds them.
func (p *Platform) directory(w http.ResponseWriter) {
	u := p.srv.URL
	entry := func(service, url string) map[string]string {
		return map[string]string{"namespace": "platform", "service": service, "url": url, "urn": "urn:ads:platform:" + service}
	}
	writeJSON(w, []map[string]string{
		entry("tenant-service", u),
		entry("tenant-service:v2", u+"/api/tenant/v2"),
		entry("configuration-service", u),
		entry("configuration-service:v2", u+"/configuration/v2"),
		entry("event-service", u),
		entry("event-service:v1", u+"/event/v1"),
	})
}

// tenant: apps/tenant-management-api/src/tenant/router/tenantV2.ts getTenants
// ({results: [mapTenant…], page: {size}}, ?name= and ?realm= exact) and getTenant (one mapTenant);
// mapTenant (router/mappers.ts) answers id (URN), realm, name, status, adminEmail.
func (p *Platform) tenant(w http.ResponseWriter, r *http.Request, rest string) {
	p.mu.Lock()
	p.tenantRequests++
	tenants := append([]Tenant(nil), p.tenants...)
	p.mu.Unlock()
	mapTenant := func(tn Tenant) map[string]any {
		return map[string]any{"id": tn.ID, "realm": tn.Realm, "name": tn.Name, "status": "active", "adminEmail": "admin@example.com"}
	}
	if id, ok := strings.CutPrefix(rest, "/"); ok {
		for _, tn := range tenants {
			if strings.HasSuffix(tn.ID, "/"+id) {
				writeJSON(w, mapTenant(tn))
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]any{"errorMessage": "Tenant not found."})
		return
	}
	name, realm := r.URL.Query().Get("name"), r.URL.Query().Get("realm")
	results := []map[string]any{}
	for _, tn := range tenants {
		if (name == "" || strings.EqualFold(tn.Name, name)) && (realm == "" || tn.Realm == realm) {
			results = append(results, mapTenant(tn))
		}
	}
	writeJSON(w, map[string]any{"results": results, "page": map[string]any{"size": len(results)}})
}

// configuration: apps/configuration-service/src/configuration/router/configuration.ts
// GET /configuration/v2/configuration/:namespace/:name/latest answers the raw configuration
// object ({} when there is none), ?tenantId=<URN> for a tenant's document.
func (p *Platform) configuration(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	doc, ok := p.docs[r.URL.Query().Get("tenantId")]
	p.mu.Unlock()
	if !ok {
		doc = "{}"
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, doc)
}

// event: apps/event-service/src/event/router/event.ts POST /event/v1/events
// ({namespace, name, timestamp, tenantId?, correlationId?, context?, payload}); 200 with no body
// of interest.
func (p *Platform) event(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]any{"errorMessage": "invalid JSON"})
		return
	}
	p.mu.Lock()
	if p.eventFailures > 0 {
		p.eventFailures--
		p.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	p.events = append(p.events, Event{Authorization: r.Header.Get("Authorization"), Body: body})
	p.mu.Unlock()
	writeJSON(w, body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
