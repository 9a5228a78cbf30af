package auth

import (
	"slices"
	"time"
)

// RoleStreamListener is the push-service client role that grants access to every stream of a tenant.
const RoleStreamListener = "stream-listener"

// Audience is the client id every accepted token must carry in "aud".
const Audience = "urn:ads:platform:push-service"

// Principal is the caller behind a request or a connection, as established from a verified token
// (or Anonymous when no token was presented). It is immutable after verification.
type Principal struct {
	// Subject is the token's "sub"; empty for anonymous callers.
	Subject string
	// Name is "name", else "preferred_username".
	Name string
	// TenantID is the tenant URN (urn:ads:platform:tenant-service:v2:/tenants/<hex>) of a tenant user;
	// empty for core users and anonymous callers.
	TenantID string
	// Core marks users of the core realm.
	Core bool
	// Anonymous marks callers that presented no token.
	Anonymous bool
	// Roles are the resolved roles: realm roles bare, client roles as "<client>:<role>", and the
	// push-service client's roles additionally bare (ADSP resolveRoles).
	Roles []string
	// Expires is the token's "exp"; zero for anonymous callers.
	Expires time.Time
	// TokenID is the token's "jti" ("" when absent) and IssuedAt its "iat" (zero when absent):
	// what a revocation names (Revocations).
	TokenID  string
	IssuedAt time.Time
}

// AnonymousPrincipal is the caller without a token.
var AnonymousPrincipal = &Principal{Anonymous: true}

// HasRole reports whether p holds role r (exact string comparison).
func (p *Principal) HasRole(r string) bool {
	return p != nil && slices.Contains(p.Roles, r)
}

// HasAnyRole reports whether p holds at least one of roles.
func (p *Principal) HasAnyRole(roles ...string) bool {
	for _, r := range roles {
		if p.HasRole(r) {
			return true
		}
	}
	return false
}
