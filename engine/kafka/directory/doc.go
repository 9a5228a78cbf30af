// Package directory is the instance directory of a Kafka-mode fleet: each instance announces
// {id, internal address, heartbeat, interval} on the config topic and a Directory keeps the live
// ones, so that an instance can forward a session to the one that holds it (engine/cluster).
// It depends only on engine/kafka/client; configsync reads its key prefix to skip announcements.
//
// Instance announcements share the compacted config topic with the store records: key
// "instance:<id>", value the JSON of Instance, one record per heartbeat (compaction keeps the
// last), and a tombstone (nil value) when the instance stops gracefully. ConfigSync skips these
// keys; a Directory reads them (its own reader of the topic, from the beginning).
package directory
