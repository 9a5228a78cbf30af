// Package configsvc reads stream configuration from an ADSP configuration-service instead of the
// local store, the optional mode selected by --configuration-service-url.
//
// # Reading
//
// A Reader fetches the platform:push-service documents the way the original push-service does
// (through its SDK):
//
//	GET {URL}/configuration/v2/configuration/platform/push-service/latest                  core document
//	GET {URL}/configuration/v2/configuration/platform/push-service/latest?tenantId=<urn>   tenant document
//
// with "Authorization: Bearer <token>" when Config.Token is set (the service-account token of
// engine/adsp: client credentials against the core realm). With Config.Locate the endpoint comes
// from the ADSP directory (urn:ads:platform:configuration-service:v2) on every fetch instead.
// /latest answers the raw configuration object, or {} when there is none. An empty body or JSON
// null is read as {} (the SDK caches "no configuration" too). Anything else must be a JSON object of
// at most MaxDocBytes; otherwise, and on transport errors, token errors and non-2xx statuses, the
// failure is logged and the document counts as missing (nil) — never an error that stops the server.
// Failures are not cached; concurrent fetches of the same document are de-duplicated.
//
// # Caching and invalidation
//
// Successful documents are cached for Config.TTL (900 s by default, the SDK's TTL). Observe is fed
// every domain event: a configuration-service event (any name: configuration-updated,
// revision-created, active-revision-set, configuration-deleted, ...) whose payload — or, failing
// that, context — names namespace "platform" and name "push-service" evicts the document of the
// event's tenant and signals Changes. Events without a tenant are ignored (configuration-service
// only emits these events for tenant documents), so the core document is refreshed only by TTL.
// A fetch that was in flight when its document was invalidated is returned to its callers but not
// cached.
//
// Start runs the expiry loop: when a cached document expires it is dropped and Changes is
// signalled, so the owner re-reads through Documents. A failed fetch is retried the same way after
// Config.RetryInterval (30 s by default, at most the TTL). Changes is buffered 1 and coalesces
// signals; a receiver should re-read everything it needs. Documents also honours the TTL by itself,
// so Start is only needed for proactive refreshes.
//
// Ready reports whether the core document has been fetched successfully at least once.
package configsvc
