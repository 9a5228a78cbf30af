// Package dedupe is the bounded window of publish idempotency keys (the Idempotency-Key header of
// POST /event/v1/events): a publisher that retries a POST whose answer it never got (a 502 from
// its balancer after the event was written) has the repeat dropped, so the event is delivered
// once. The window holds at most MaxKeys keys for at most MaxAge each: a repeat later than that,
// or after the first was pushed out by MaxKeys newer keys, is delivered again.
//
// The embedded bus keeps one window in-process. With Kafka the key travels in a record header;
// every instance's reader keeps its own window over the records in topic order, so every instance
// drops the same repeats (a tenant's records share a partition, so the first occurrence is always
// read first) and ages them by the record's timestamp, not its own clock.
package dedupe
