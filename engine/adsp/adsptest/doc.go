// Package adsptest runs stand-ins for the ADSP platform services pushgate talks to in ADSP mode,
// on one httptest server, answering with the JSON shapes of the ADSP source
// (GovAlta/adsp-monorepo; each handler cites its file):
//
//	/auth/realms/<realm>/…                       Keycloak: OIDC discovery, JWKS, and the core
//	                                             realm's client-credentials token endpoint
//	/directory/v2/namespaces/platform/entries   directory service
//	/api/tenant/v2/tenants[/<id>]               tenant service
//	/configuration/v2/configuration/platform/push-service/latest   configuration service
//	/event/v1/events                            event service
//
// The tenant, configuration and event stand-ins require the service-account token the token
// endpoint issued (Bearer), as the real services require a core service account. Tests build
// user tokens with UserToken, signed by the realm key the JWKS publishes. Test support only.
package adsptest
