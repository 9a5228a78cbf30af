// Package adsp talks to the Alberta Digital Service Platform's own services the way every ADSP
// service does through its SDK (GovAlta/adsp-monorepo libs/adsp-service-sdk), so pushgate can
// replace the push-service on a running platform:
//
//   - Directory resolves service URNs (urn:ads:platform:tenant-service:v2, …:configuration-service:v2,
//     …:event-service:v1) through the directory service (directory/serviceDirectory.ts:
//     GET <DIRECTORY_URL>/directory/v2/namespaces/platform/entries → [{"urn","url"}]), cached with
//     a TTL and re-read on a miss; an operator may pin any URN to a URL instead.
//   - ServiceAccount is the service-account token: OAuth2 client credentials against the core realm
//     (access/tokenProvider.ts), one client id and secret for every ADSP call, cached until 60 s
//     before expiry (the SDK's dead-band).
//   - Tenants is the tenant service (tenant/tenantService.ts): the whole list
//     (GET <api>/tenants → {"results":[{"id","name","realm"}]}) cached for a TTL and re-read on
//     tenant-service events (tenant-created, tenant-deleted, tenant-name-updated), plus single
//     look-ups on a miss (by id, name or realm), rate limited so unknown references from the
//     network cannot turn into a request storm. It implements store.TenantAuthority: with it the
//     store's lookups (token realm → tenant, namespace and tenantId references) answer ADSP's tenants.
//   - Events posts pushgate's own domain events (push-service:webhook-triggered) to the event
//     service (event/eventService.ts: POST <api>/events), from a bounded queue with retries and
//     backoff, so a slow or absent event service never blocks a webhook delivery.
//
// URLs under an API URL are resolved as the SDK does with new URL(relative, apiUrl) (the API URL's
// last path segment is replaced): url.ResolveReference has the same semantics.
package adsp
