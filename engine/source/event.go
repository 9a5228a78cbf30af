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
	// Traceparent is the W3C trace context the event arrived with ("" when none): the ingest
	// request's traceparent header, the event's "traceparent" field, or the broker message's
	// header (Kafka record header, AMQP message header). It is kept in JSON as ADSP keeps it in the
	// item, parents the fan-out span and travels on to the webhook request.
	Traceparent string
	// Origin is the source's own id of the record the event came from, when it differs from ID
	// ("" otherwise): Kafka's RecordID(partition, offset), the id the webhook consumer group
	// gives the same record, which joins the webhook figures to the event's receipt.
	Origin string
	// JSON is the canonical ADSP serialisation of the whole event:
	// {"tenantId":…,"namespace":…,"name":…,"timestamp":"2026-01-02T03:04:05.678Z","correlationId":…,"context":{…},"traceparent":…,"payload":{…}}
	// ("correlationId", "context" and "traceparent" omitted when absent). Streams without a map deliver exactly
	// these bytes; map paths and criteria are resolved against them.
	JSON []byte
	// IdempotencyKey is the publisher's Idempotency-Key ("" = none): a second event of the same
	// tenant with the same key within the dedupe window (engine/dedupe) is dropped by the source.
	IdempotencyKey string
	// Backlog marks an event published before this process started, passed on only to fill its
	// replay history (a new --workers process): it is recorded, never delivered live.
	Backlog bool
}
