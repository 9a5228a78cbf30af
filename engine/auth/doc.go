// Package auth verifies bearer tokens (Keycloak-style JWTs) and turns them into Principals.
//
// Tokens are accepted from the core realm and from tenant realms, issuer
// <IssuerBase>/realms/<realm>; a tenant realm is mapped to its tenant by a TenantResolver. Checks,
// in order: size (Config.MaxTokenBytes) and shape; algorithm pinned to RS256 or ES256 (so none and
// HS256 — including HS256 keyed with a public key — are refused before any key lookup); issuer
// (rejected without any network access unless it is the core realm or a known tenant realm);
// signature with the realm's key found by kid; exp (required), nbf, iat with Config.Leeway; aud must
// contain Audience. Failures are *Error with a stable Reason for metrics; errors never contain the
// token.
//
// # Keys
//
// A realm's keys are found through OIDC discovery (<iss>/.well-known/openid-configuration, whose
// issuer must equal iss) and its jwks_uri, fetched lazily by the first Verify that needs them, with
// a 2 s timeout and a 1 MiB body cap, and parsed by keyfunc/jwkset (no hand-written crypto). Only
// signature keys (use "sig" or absent, RSA ≥ 2048 bits or EC) are kept. Per realm, fetches are
// single-flighted and at most one starts per Config.JWKSRefreshMinInterval, whether triggered by
// first use, an unknown kid (key rotation) or keys older than Config.JWKSMaxAge; when a refresh
// fails or is rate-limited, cached keys keep working. The Verifier starts no goroutines; Close
// cancels running fetches.
//
// # Roles
//
// Principal.Roles follows ADSP resolveRoles: realm_access.roles bare, resource_access[client].roles
// as "client:role", and the roles of the push-service client (Audience) also bare.
package auth
