// Package rabbit is pushgate's RabbitMQ client and the only package that imports
// github.com/rabbitmq/amqp091-go.
//
// A Consumer owns one connection and one channel to one queue. Run dials (--amqp-url, amqp:// or
// amqps://, user, password and vhost in the URL), asserts the topology — the events exchange as a
// durable topic exchange, as ADSP's core-common asserts it (libs/core-common/src/amqp/event.ts:
// assertExchange('domain-events', 'topic'), durable by amqplib's default), the queue with its
// arguments, its binding and its dead-letter exchange — sets the prefetch and consumes. Messages
// are handed to the handler in batches of what has already arrived (at most Queue.Prefetch, never
// waiting for more), on one goroutine. After the handler returns nil the messages it marked with
// Reject are rejected without requeue (the broker dead-letters them) and the rest are acked with one
// multiple ack; after an error nothing is settled and the same batch is handed again after a
// backoff, so a handler that acks only what is durable gives at-least-once delivery.
//
// Faults: any error (dial, wrong credentials, topology, a closed channel or connection) closes the
// connection and Run dials again after a backoff of BackoffMin doubling to BackoffMax; unsettled
// messages are redelivered by the broker. Ready reports the reason while not consuming (the URL
// without its password). The first failure is logged at ERROR, then at most once per
// ErrorLogInterval while it lasts, and the recovery at INFO. Nothing accumulates while the broker
// is away: one goroutine per Run, one connection at a time.
//
// The password is never logged: Redact gives the URL as amqp://user@host:port/vhost.
package rabbit
