// Package eventsource is the RabbitMQ event source of the streams: every instance reads every
// domain event through its own queue, bound with "#" to the events exchange.
//
// ADSP's push-service reads through a server-named exclusive queue (apps/push-service/src/amqp/
// event.ts in GovAlta/adsp-monorepo), which the broker deletes with the connection: whatever is
// published while an instance reconnects, or restarts, is lost. Here the queue is named from a
// stable instance id kept in the data dir ("pushgate.streams.<id>"), durable, of quorum type (its
// messages survive a broker restart though ADSP publishes them transient) and expires (x-expires)
// only after Config.Expires without a consumer — the recovery window — so a broker blip or a
// pushgate restart within it loses nothing. A message is acked only after the hub has it in its
// history (the Subscribe func returned), in batches of what has arrived (prefetch 1000). The
// queue has a single active consumer, and a process finding it consumed already (the same
// instance id, e.g. a copied data dir) refuses to consume and reports why (Ready) rather than
// sharing the events.
//
// Event ids: RabbitMQ has no offsets shared between instances, so ids are the embedded bus's
// "<epoch>-<seq>" per instance (epoch = the start in unix milliseconds, seq from 1 without
// gaps). An SSE Last-Event-ID or a Socket.IO recovery offset is found only in the history of the
// instance (and process) that issued it; elsewhere it is a gap, answered as in embedded mode (the
// client starts live, Socket.IO reports recovered=false).
//
// A message that cannot be converted (adspevent.Convert) is rejected without requeue, to the
// dead-letter exchange "pushgate.dead-letter" (queue of the same name, the newest 10,000 kept),
// counted by reason and logged; the consumer goes on with the next one.
package eventsource
