// Package webhookqueue feeds the webhook sender from RabbitMQ: one durable queue shared by every
// instance ("pushgate.webhooks", quorum type where the broker supports it), bound with "#" to the
// events exchange, its consumers competing, so each event's webhooks are recorded by one instance
// (as ADSP's push-service does with its "webhooks" quorum queue). Messages are acked only after
// the handler (webhook.Service.Record) returned nil, i.e. once the deliveries are durable in the
// outbox: at least once, and a message redelivered after a crash — to any instance — gets the same
// event id (adspevent.StableID), hence the same webhook-id. A message that cannot be converted is
// rejected without requeue to the dead-letter exchange "pushgate.webhooks.dead-letter" (queue of
// the same name, the newest 10,000 kept), counted and logged; a handler error is retried with
// backoff and never dead-letters anything.
package webhookqueue
