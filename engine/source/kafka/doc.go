// Package kafka is the Kafka event source and the Kafka configuration replicator. It is the only
// package that imports segmentio/kafka-go.
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
// ReadyWindow, a record was fetched or the metadata check found every partition caught up — and
// not while an outage is open: the first failed fetch, metadata request or publish opens one
// (Ready fails at once, with the reason), a fetched record, a successful publish or a metadata
// answer with no failure in the last BackoffMax + 2×MaxWait closes it (outage.go). Each outage is
// logged at its start ("source lost", WARN), every OutageLogInterval while it lasts, and at its end
// ("source recovered", with its length), by the Source, the ConfigSync reader and the Group alike,
// instead of a line per failed request.
//
// # Competing consumers (Group)
//
// Webhooks must be sent by one instance per event, so they read the events topic through a Group
// instead: one Kafka consumer group (default "pushgate-webhooks") shared by every instance, the
// coordinator splitting the partitions between the members (kafka-go's ConsumerGroup, range
// assignment; a partition added later triggers a rebalance). Each owned partition is read by a
// partReader as above; records are decoded exactly as the Source decodes them (decodeRecord) and
// handed to the handler in batches of at most MaxBatch, each partition in offset order, never
// marked Backlog. ev.ID is RecordID(partition, offset): the record's own position ({p: o+1}, own
// partition p), the same on every member, so a record handled again after a takeover keeps its id
// (EventPosition gives the same partition and offset as for the Source's id of that record).
//
// Offsets are committed (synchronously, in the member's generation) only after the handler
// returned nil for the whole batch, malformed records (skipped, counted) included. A handler error
// commits nothing: the same batch is handed again after a backoff (100 ms doubling to BackoffMax)
// until it succeeds, or until a rebalance takes the partitions away, after which their new owner
// reads them again from the committed offsets. Delivery to the handler is therefore at least once:
// a record is handled again when a member crashed (or lost a rebalance) between handling it and
// committing it; in the steady state each record is handled once.
//
// Start: the committed offset of the group (clamped to what the partition still holds). When the
// group has no committed offset at all (a new group), each partition starts at its end at the time
// a member first owns it, so webhooks fire for events published after the group was created; in a
// group that has committed before, a partition without an offset is one added to the topic later
// and starts at its beginning (as for the Source). Either start offset is committed at once, so a
// later owner resumes from there rather than from its own "end".
//
// Takeover: a member that stops (Close) leaves the group and the others get its partitions at
// once; a crashed or cut-off member is dropped by the coordinator after SessionTimeout (default
// 10 s, heartbeats every SessionTimeout/10), and the others rejoin on their next heartbeat.
// Measured with kfake: 11.1 s with the defaults, 1.8 s with the tests' 1.5 s session timeout. A
// handler that never returns keeps its partitions (there is no max.poll.interval): the handler
// must bound its own work.
//
// Ready is nil while the member is in a generation with its start offsets resolved (possibly
// owning no partition, when there are more members than partitions); a *TopicError (the Source's)
// while the events topic is missing; ErrNotJoined before the first generation; an error when no
// generation ran for ReadyWindow.
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
// # Configuration (ConfigSync)
//
// Tenants and stream documents replicate through the compacted config topic (default
// "pushgate.config", one partition): key = kind + ":" + key (e.g. "config:core",
// "tenant:urn:ads:…"), value = the JSON of store.Record. ConfigSync.Replicate is the store's
// Options.Replicate (called before the local commit; a failure fails the API call). Start reads
// the whole topic from the beginning into store.ApplyRemote, is Ready once it reached the
// high-water marks seen at start, then publishes the local records the topic lacks (the first start
// of an instance) and keeps applying new records live. Conflict rules are store.ApplyRemote's.
//
// Webhook endpoint state (kind "webhook", key "webhook:" + engine/webhook's endpoint key, which may
// hold any character) rides the same topic; for it the FIRST record of a version wins, while
// compaction keeps a key's LAST record. So when a webhook record was refused and is still the last
// one read for its key, ConfigSync republishes the winner (store.WebhookConflictError.Repair) after
// a jittered wait of about a second, begun only once the topic was read up to the start (a refusal in
// the history is already followed by its repair); the copy is a no-op everywhere and becomes the
// record compaction keeps.
//
// # Topics (fresh clusters)
//
// ConfigSync creates the configuration topic when the metadata answer lacks it (unless
// Config.DisableTopicCreation): compacted, 1 partition, replication factor min(3, brokers),
// min.insync.replicas min(2, RF) — as Kafka Connect and Schema Registry create their internal
// topics; a concurrent creation by another instance counts as success. An existing configuration
// topic whose cleanup.policy is not compact gets a WARN line with the kafka-configs.sh command that
// fixes it. The events topic is never created. A missing topic (events, or configuration when
// creation is disabled or refused, e.g. by ACLs) makes Ready and Starting return a *TopicError with
// the exact kafka-topics.sh command, logged at ERROR once and then at most every TopicLogInterval;
// the start continues by itself once the topic exists (kafka-go's metadata cache notices it within
// about 2 s). StartupCheck turns Starting into the API's write gate.
//
// # Concurrency and lifetimes
//
// Every exported method is safe for concurrent use. Events handed to the dispatch func and to the
// ReadRange func are immutable and may be kept. Close stops every goroutine and waits for them.
package kafka
