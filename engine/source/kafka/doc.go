// Package kafka is the Kafka event source: every instance reads every record of the events topic,
// gives each event an id that any instance can resume from, re-reads ranges of the topic, drops
// repeated idempotency keys, and publishes. The other Kafka ideas live beside it under
// engine/kafka: the kafka-go client, TLS/SASL, metadata and topic admin (client), the replication
// of the config topic (configsync), the webhook consumer group (group, which decodes records with
// DecodeRecord and names them with RecordID from here) and the instance directory (directory).
//
// # Events (Source)
//
// Every instance consumes every record of the events topic (default "domain-events"): no consumer
// group, no offset commits, one kafka-go Reader per partition. A cold start (New with a nil start
// Position) begins at the latest offset of every partition; partitions that appear later (metadata
// check every DiscoveryInterval) are read from their beginning.
//
// Record: key = tenant id (producers should use it so one tenant's events stay ordered); value = the
// event-service body of POST /event/v1/events with "tenantId" required (a tenant URN, or anything
// Config.ResolveTenant maps to one); header "traceparent" is accepted and ignored (source.Event has
// no field for it yet). Values are validated with source.DecodeEvent (sonic) and turned into the
// canonical source.Event. A malformed record is counted (Stats.DecodeErrors), logged with topic,
// partition and offset (at most one line per second, with the number suppressed) and skipped.
//
// Decoding runs on the partition goroutines; a single dispatcher goroutine then assigns ids and
// calls the Subscribe func, one event at a time, each partition in offset order. The queue between
// them is bounded (QueueSize): when the dispatch func is slow, fetching pauses instead of dropping.
//
// # Event ids (Position)
//
// ev.ID is the position vector after ev: {partition: next offset} over the events topic as this
// instance delivered it, encoded by EncodePosition as base64url (no padding) of
//
//	[version 1][uvarint own] [uvarint n] n × ([uvarint partition − previous partition][uvarint next offset])
//
// own is the event's partition + 1 (0 in a plain Position from EncodePosition), so EventPosition
// recovers the event's own partition and offset and Position.Contains decides, in any instance's
// history, whether an event comes after a client's resume point.
//
// e.g. {0:12, 1:7, 2:300} is "AQADAAwBBwGsAg" (14 characters). The vector does not depend on the
// instance: resuming from any instance's id means "every record at or after v[p] in each partition"
// (a partition missing from the vector: from its beginning). ReadRange re-reads such a range from
// the topic (bounded by MaxRangeReaders concurrent calls; all-or-nothing with ErrOutOfRetention);
// New with a non-nil start Position resumes live from it.
//
// # Faults
//
// Read loops never exit before Close. kafka-go's reader retries dial and fetch errors itself
// (100 ms doubling to BackoffMax); errors it reports are counted, logged and answered by a backoff
// and a re-seek to the next offset tracked here, so deliveries resume exactly where they stopped:
// no loss for records still in retention, no duplicates, partition order kept. A fetch that gets no
// answer within MaxWait (a hung broker) is treated as a broken connection and redialled. Measured
// with kfake (see the tests): with the default timings deliveries resume ≈0.4 s after a 10 s outage
// and ≈1 s after a 10 s fetch hang.
//
// Ready is ErrNotConnected until the first metadata answer, then nil as long as, within
// ReadyWindow, a record was fetched or the metadata check found every partition caught up, and not
// while an outage is open (engine/kafka/client's Outage). A missing events topic makes Ready and
// Starting return a *client.TopicError with the kafka-topics.sh command; the topic is never created.
//
// # Publishing
//
// (*Source).Publish implements source.Publisher: it writes ev.JSON keyed by ev.TenantID
// (murmur2 partitioner, as the Java client) and waits for acks=all. It returns id "": the real id
// is the position assigned when the record is consumed back, on every instance alike.
//
// An ev.IdempotencyKey travels in the record header IdempotencyHeader. Every reader (the Source,
// ReadRange, the Group) keeps an engine/dedupe window over the records it reads and drops one
// whose tenant and key it met at an earlier position within the window (counted in
// Stats.Duplicates): a publisher's retry after a lost answer is written twice and delivered once,
// by every instance alike, since a tenant's records share a partition (idempotency.go).
//
// # Concurrency and lifetimes
//
// Every exported method is safe for concurrent use. Events handed to the dispatch func and to the
// ReadRange func are immutable and may be kept. Close stops every goroutine and waits for them.
package kafka
