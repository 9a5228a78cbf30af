// Package stream compiles platform/push-service configuration documents into an immutable
// Registry and does the per-event work of the ADSP push-service StreamEntity: matching events to
// streams, projecting them through a stream's map, evaluating subscriber criteria and deciding who
// may subscribe. It is pure logic: no I/O, goroutines or global mutable state.
//
// # Documents
//
// A document is a JSON object: stream id → stream ({id, name, description, events, subscriberRoles,
// publicSubscribe}); the key "webhooks" is not a stream and is ignored (object or null). Each events[]
// entry is {namespace, name, map?, criteria?}. ValidateDocument explains the first problem found.
//
// # Scopes
//
// Build(core, tenants) creates one scope per tenant (its own streams plus the core streams, core
// winning on collisions) and the cross-tenant scope "" (core streams only, events of every tenant).
// A Stream is a stream in one scope; Key() identifies it across rebuilds.
//
// # Matching and projection
//
// Registry.Route finds the candidate entries of an event through a (namespace, name) index built at
// Build time. An entry matches when its criteria hold (correlationId equal when set; every context
// key strictly equal, number 123 ≠ "123"). Without a map (absent, null or {}, see contract.md) the
// item is the event's JSON unchanged; with a map it is
// {"tenantId","namespace","name","correlationId"?,"context"?, …mapped keys} in JavaScript key order,
// where each mapped key takes the value at a lodash-style path ("payload.items[0].id") and is omitted
// when the path does not resolve. Values are copied byte for byte from the event JSON; the item is
// built once per stream scope and event and shared by every subscriber.
//
// # Limits and lifetimes
//
// Subscriber criteria: MaxCriteriaBytes, MaxCriteriaDepth, MaxCriteriaKeys. Maps: 256 keys, paths of
// 512 bytes. Items passed to Route callbacks are immutable and may be retained; ev.JSON must not
// be modified after the event is published.
//
// # Differences from ADSP
//
// Fixed quirks (adsp-push-service.md §7.5): "webhooks" is never listed or subscribable and a null
// "webhooks" is tolerated (Q2, Q3); a stream's id must equal its key (Q5; Build accepts a mismatch
// and uses the key); `map: {}` means no map. Paths do not read JavaScript-only properties
// ("length" of strings and arrays, characters of strings).
package stream
