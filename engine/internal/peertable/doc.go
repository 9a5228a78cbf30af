// Package peertable keeps the peers of an instance directory by their heartbeats: each peer is
// put with the period it announces and when it was last heard from, and counts as alive while it
// has missed fewer than Missed of its own periods (plus one second of slack). The Kafka
// (engine/kafka/directory) and RabbitMQ (engine/amqp/instancedir) directories share it: they
// differ in how announcements travel, not in when a peer is alive.
package peertable
