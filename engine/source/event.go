package source

import "time"

// Event is one ADSP domain event as it travels from a source to the hub. It is immutable once
// published: the hub and every stream read it concurrently.
type Event struct {
	// ID is the event id assigned by the source: "<epoch>-<seq>" for the embedded bus, a position
	// vector for Kafka (see contract.md). Used for SSE "id:" and Socket.IO recovery offsets.
	ID string
	// TenantID is the tenant URN (urn:ads:platform:tenant-service:v2:/tenants/<hex>).
	TenantID string
	// Namespace and Name identify the event type, e.g. "pdf-service" / "pdf-generated".
	Namespace string
	Name      string
	// Timestamp is the event time (serialised as ISO-8601 UTC with milliseconds).
	Timestamp time.Time
	// CorrelationID is optional ("" when absent).
	CorrelationID string
	// JSON is the canonical ADSP serialisation of the whole event:
	// {"tenantId":…,"namespace":…,"name":…,"timestamp":"2026-01-02T03:04:05.678Z","correlationId":…,"context":{…},"payload":{…}}
	// ("correlationId" and "context" omitted when absent). Streams without a map deliver exactly
	// these bytes; map paths and criteria are resolved against them.
	JSON []byte
	// IdempotencyKey is the publisher's Idempotency-Key ("" = none): a second event of the same
	// tenant with the same key within the dedupe window (engine/dedupe) is dropped by the source.
	IdempotencyKey string
	// Backlog marks an event published before this process started, passed on only to fill its
	// replay history (a new --workers process): it is recorded, never delivered live.
	Backlog bool
}
