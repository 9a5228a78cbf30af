// Package client owns the Kafka client library (segmentio/kafka-go): it is the only package that
// imports it (deps_test.go), so the library's version, its connection settings and every name the
// other Kafka packages take from it (aliases in kafkago.go) are found here. The event source
// (engine/source/kafka), the config-topic replication (configsync), the webhook consumer group
// (group) and the instance directory (directory) build on it and not on each other, except where
// an idea needs another (each package's doc says which).
//
// # What it holds
//
// Config is the shared configuration (brokers, topics, TLS/SASL, timings; ApplyDefaults sets every
// default, Validate reads the TLS files). NewConns turns it into kafka-go's dialer, transport and
// admin client; Partitions, Offsets and ListOffsets answer metadata questions (a topic the cluster
// lacks is a *MissingTopic). PartReader consumes one partition from an offset forever, retrying
// and re-seeking after errors so that nothing is lost or repeated; NewWriter is the producer the
// Source, ConfigSync and Directory use. Stats, RateLog, Backoff and SleepCtx are the counters, the
// log limiter and the retry timing every reader shares.
//
// # Outages
//
// An Outage tracks the broker health of a reader or a writer; the first failed fetch, metadata
// request or publish opens one (Ready fails at once, with the reason), a fetched record, a
// successful publish or a metadata answer with no failure in the last BackoffMax + 2×MaxWait
// closes it (outage.go). Each outage is logged at its start ("source lost", WARN), every
// OutageLogInterval while it lasts, and at its end ("source recovered", with its length), by the
// Source, the ConfigSync reader and the Group alike, instead of a line per failed request.
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
// Topic admin lives here (EnsureConfigTopic, CheckCompacted, EventsTopicError, TopicLog) because it
// is broker administration, not any one idea; ConfigSync and the Source call it. StartupCheck joins
// their Starting answers into the API's write gate.
package client
