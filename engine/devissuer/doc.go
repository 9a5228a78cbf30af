// Package devissuer is the development token issuer of embedded mode (contract.md "Development
// tokens"). It keeps an RSA signing key in <data-dir>/dev-signing-key.pem (PKCS#8 PEM, 0600) and
// the issuer description in <data-dir>/dev-issuer.json ({"issuerBase", "kid"}), both plain files so
// that `pushgate token` (Load) works while the server runs, without opening the store.
//
// Tokens are shaped like Keycloak access tokens: iss <issuerBase>/realms/<realm>, aud
// urn:ads:platform:push-service plus every client named in a client role, realm_access.roles,
// resource_access[client].roles, preferred_username/name, RS256 with a kid. The server serves
// DiscoveryJSON and JWKSJSON under the issuer URLs, so development tokens are verified by
// engine/auth through the same discovery path as production tokens.
package devissuer
