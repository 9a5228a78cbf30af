package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// RealmCore is the realm of core (platform) users.
const RealmCore = "core"

// Stats are the verifier's counters.
type Stats struct {
	// Refreshes counts key-set fetches (first use, unknown kid, expiry); RefreshErrors the
	// failed ones.
	Refreshes, RefreshErrors atomic.Int64
	// Verified and Rejected count Verify outcomes; CacheHits the Verified ones answered from the
	// cache of verified tokens (cache.go).
	Verified, Rejected, CacheHits atomic.Int64
}

// TenantResolver maps a tenant realm to its tenant URN. It is called for every token of a non-core
// realm, so it should be an in-memory lookup.
type TenantResolver interface {
	TenantByRealm(realm string) (tenantURN string, ok bool)
}

// Verifier verifies bearer tokens of the core realm and of tenant realms. It is safe for
// concurrent use. It starts no goroutine: keys are fetched by the Verify call that needs them.
type Verifier struct {
	// Stats counts key fetches (discovery + JWKS) and verification outcomes, for metrics.
	Stats Stats
	// Revocations are the revoked tokens: Verify rejects them (ReasonRevoked), so a revoked
	// token can neither connect, reconnect nor refresh a connection.
	Revocations Revocations
	cfg         Config
	tenants     TenantResolver
	client      interface {
		Do(*http.Request) (*http.Response, error)
	}
	parser *jwt.Parser
	prefix string // <IssuerBase>/realms/
	now    func() time.Time

	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	realms map[string]*realmKeys // by issuer

	kidLog struct {
		sync.Mutex
		last       time.Time
		suppressed int
	}

	tokens *tokenCache // nil when Config.TokenCacheSize < 0
}

// NewVerifier returns a Verifier for cfg. tenants may be nil (only the core realm is accepted).
func NewVerifier(cfg Config, tenants TenantResolver) (*Verifier, error) {
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &Verifier{
		cfg:     cfg,
		tenants: tenants,
		client:  cfg.HTTPClient,
		prefix:  cfg.IssuerBase + "/realms/",
		now:     time.Now,
		ctx:     ctx,
		cancel:  cancel,
		realms:  map[string]*realmKeys{},
		tokens:  newTokenCache(cfg.TokenCacheSize),
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithStrictDecoding(), // one spelling per token: the unused low bits of base64 must be zero
		jwt.WithAudience(Audience),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	)
	return v, nil
}

// Close cancels running key fetches; later Verify calls fail with ReasonClosed.
func (v *Verifier) Close() {
	v.cancel()
}

// claims are the Keycloak claims pushgate reads.
type claims struct {
	jwt.RegisteredClaims
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	RealmAccess       struct {
		Roles []string `json:"roles"`
	} `json:"realm_access"`
	ResourceAccess map[string]struct {
		Roles []string `json:"roles"`
	} `json:"resource_access"`
}

// issued carries the realm resolved from the unverified issuer, and the key set and kid that
// verified the signature, to the caller of ParseWithClaims.
type issued struct {
	realm, tenant string
	rk            *realmKeys
	store         jwkset.Storage
	kid           string
}

// Verify checks token and returns the principal it represents. Failures are *Error values (see
// the Reason* constants) that never contain the token. Only RS256 and ES256 are accepted; exp, iss
// and aud are required; iss must be <IssuerBase>/realms/<realm> for the core realm or a realm the
// TenantResolver knows (no key is fetched for any other issuer); aud must contain Audience. token
// is not kept past the call: it may alias a buffer its caller reuses.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	p, err := v.verify(ctx, token)
	if err != nil {
		v.Stats.Rejected.Add(1)
		return nil, err
	}
	v.Stats.Verified.Add(1)
	return p, nil
}

func (v *Verifier) verify(ctx context.Context, token string) (*Principal, error) {
	if v.ctx.Err() != nil {
		return nil, reject(ReasonClosed, nil)
	}
	if len(token) > v.cfg.MaxTokenBytes {
		return nil, reject(ReasonMalformed, errors.New("token too large"))
	}
	if strings.Count(token, ".") != 2 {
		return nil, reject(ReasonMalformed, errors.New("token is not a compact JWS"))
	}
	if p := v.tokens.get(v, token); p != nil {
		v.Stats.CacheHits.Add(1)
		// A revocation made after the token was cached still applies (POST /push/v1/revocations).
		if v.Revocations.Revoked(p, v.now()) {
			return nil, reject(ReasonRevoked, nil)
		}
		return p, nil
	}
	// The token may alias a request's buffer (engine/api passes the Authorization header without
	// a copy): the full path, which may keep it (in the parsed token, in errors), gets its own.
	token = strings.Clone(token)
	var c claims
	var iss issued
	tok, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		return v.keyFor(ctx, t, &iss)
	})
	if err != nil {
		return nil, classify(tok, &c, err)
	}
	p := &Principal{
		Subject:  c.Subject,
		Name:     c.Name,
		TenantID: iss.tenant,
		Core:     iss.realm == RealmCore,
		Roles:    resolveRoles(&c),
	}
	if p.Name == "" {
		p.Name = c.PreferredUsername
	}
	p.TokenID = c.ID
	if c.IssuedAt != nil {
		p.IssuedAt = c.IssuedAt.Time
	}
	if v.Revocations.Revoked(p, v.now()) {
		return nil, reject(ReasonRevoked, nil)
	}
	if c.ExpiresAt != nil {
		p.Expires = c.ExpiresAt.Time
		// Cached complete (the principal is shared by every hit and never changed after this);
		// revocations are checked again on each hit.
		v.tokens.put(token, &cachedToken{p: p, exp: p.Expires, rk: iss.rk, store: iss.store, kid: iss.kid, realm: iss.realm})
	}
	return p, nil
}

// keyFor resolves the realm from the (not yet verified) issuer and returns the realm's key.
func (v *Verifier) keyFor(ctx context.Context, t *jwt.Token, out *issued) (any, error) {
	issuer, err := t.Claims.GetIssuer()
	if err != nil || issuer == "" {
		return nil, reject(ReasonUnknownIssuer, errors.New("missing iss"))
	}
	realm, ok := strings.CutPrefix(issuer, v.prefix)
	if !ok || !validRealm(realm) {
		return nil, reject(ReasonUnknownIssuer, nil)
	}
	out.realm = realm
	if realm != RealmCore {
		if v.tenants == nil {
			return nil, reject(ReasonUnknownIssuer, nil)
		}
		if out.tenant, ok = v.tenants.TenantByRealm(realm); !ok || out.tenant == "" {
			return nil, reject(ReasonUnknownIssuer, nil)
		}
	}
	// A token without kid would be tried against every key of the realm (keyfunc's fallback);
	// the issuers we accept (Keycloak, the development issuer) always name the key, so its
	// absence is refused — one rule whether the realm has one key or several (SECURITY.md).
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, reject(ReasonMalformed, errors.New("token header has no kid"))
	}
	out.rk, out.kid = v.realm(issuer), kid
	key, err := out.rk.keyfunc(ctx, t, &out.store)
	var e *Error
	if errors.As(err, &e) && e.Reason == ReasonUnknownKID {
		v.warnUnknownKID(kid, issuer)
	}
	return key, err
}

// warnUnknownKID says which key id no key set of issuer holds (never the token), at most once per
// unknownKIDLogInterval: the usual cause is instances of one fleet each signing development
// tokens with their own key (--dev-signing-key gives them one).
func (v *Verifier) warnUnknownKID(kid, issuer string) {
	l := &v.kidLog
	l.Lock()
	now := v.now()
	if !l.last.IsZero() && now.Sub(l.last) < unknownKIDLogInterval {
		l.suppressed++
		l.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.Unlock()
	v.cfg.Logger.Warn("auth: token signed with an unknown key id: refused (401)", "kid", kid, "issuer", issuer,
		"suppressed", n, "hint", "in development mode give every instance the same --dev-signing-key file")
}

// validRealm accepts realm names that form a plain path segment.
func validRealm(r string) bool {
	if r == "" || len(r) > 255 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c <= ' ' || c == '/' || c == '?' || c == '#' || c == '%' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return r != "." && r != ".."
}

func (v *Verifier) realm(issuer string) *realmKeys {
	v.mu.Lock()
	defer v.mu.Unlock()
	rk := v.realms[issuer]
	if rk == nil {
		rk = &realmKeys{v: v, iss: issuer}
		v.realms[issuer] = rk
	}
	return rk
}

// classify maps a golang-jwt error to an *Error.
func classify(tok *jwt.Token, c *claims, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if tok != nil && tok.Header != nil {
		alg, _ := tok.Header["alg"].(string)
		if alg != jwt.SigningMethodRS256.Alg() && alg != jwt.SigningMethodES256.Alg() {
			return reject(ReasonUnsupportedAlg, errors.New("algorithm not allowed"))
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return reject(ReasonMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return reject(ReasonInvalidSignature, err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return reject(ReasonExpired, err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return reject(ReasonNotYetValid, err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return reject(ReasonBadAudience, err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		if len(c.Audience) == 0 {
			return reject(ReasonBadAudience, err)
		}
		return reject(ReasonMalformed, err)
	}
	return reject(ReasonMalformed, err)
}

// resolveRoles implements ADSP resolveRoles: realm roles bare, client roles as "<client>:<role>",
// and the roles of the push-service client (Audience) also bare. Duplicates are removed; the order
// is realm roles, then clients in name order.
func resolveRoles(c *claims) []string {
	roles := slices.Clone(c.RealmAccess.Roles)
	clients := make([]string, 0, len(c.ResourceAccess))
	for client := range c.ResourceAccess {
		clients = append(clients, client)
	}
	slices.Sort(clients)
	for _, client := range clients {
		for _, r := range c.ResourceAccess[client].Roles {
			roles = append(roles, client+":"+r)
			if client == Audience {
				roles = append(roles, r)
			}
		}
	}
	out := roles[:0]
	seen := make(map[string]struct{}, len(roles))
	for _, r := range roles {
		if _, dup := seen[r]; !dup && r != "" {
			seen[r] = struct{}{}
			out = append(out, roleNames.intern(r))
		}
	}
	// Kept for the connection's life: exactly sized, and the names shared between principals.
	return slices.Clip(slices.Clone(out))
}
