// Package adspevent turns a RabbitMQ message of the ADSP event service into a source.Event, as
// ADSP's core-common does it (libs/core-common/src/amqp/event.ts, convertMessage:
// {...headers, payload: JSON.parse(body), timestamp: new Date(headers.timestamp),
// tenantId: AdspId.parse(headers.tenantId)}), for messages published as
// apps/event-service/src/amqp/service.ts publishes them: body = JSON of the payload, headers
// namespace, name, tenantId (the tenant URN), correlationId, context (a nested table), timestamp
// (ISO string), traceparent, and (newer event services) id, with messageId = id.
//
// The event's JSON is the canonical source.Event JSON (tenantId, namespace, name, timestamp,
// correlationId, context, payload) with every other header kept, as ADSP's spread keeps them:
// traceparent and any extra header appear before "payload", in key order. A header sent as null
// (AMQP void) reads as absent for the canonical fields and as null for the others. Headers starting
// with "x-" are the broker's delivery metadata (x-delivery-count, x-death) and are left out. The tenantId
// header is resolved to a tenant URN with the same lookup as the HTTP ingest and Kafka paths.
//
// A message that cannot be converted is a *Rejection with a Reason (a fixed label, used as a
// metric label): missing-tenant, unknown-tenant, invalid-body (not JSON, or nested deeper than
// source.MaxEventDepth), oversized (body over source.MaxEventBytes), invalid-headers (namespace or
// name missing or over 50 characters, timestamp missing or not ISO-8601). Rejections counts them
// and logs the first of each reason with its routing key (then one line a minute per reason).
//
// StableID gives a message an id that every instance derives alike, for the webhook-id: the AMQP
// message id when the publisher set one (ADSP's event service sets a UUIDv7), else a hash of the
// routing key, the headers (timestamp included) and the body.
package adspevent
