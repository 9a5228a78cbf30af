// Package amqp groups pushgate's RabbitMQ intake: the ADSP event service publishes every domain
// event to the topic exchange "domain-events" (apps/event-service/src/amqp/service.ts in
// GovAlta/adsp-monorepo), and pushgate reads it there as the ADSP push-service does.
//
//   - rabbit: the broker client (the only importer of github.com/rabbitmq/amqp091-go): dial,
//     amqps://, reconnection with a capped backoff, topology assertion, batched consumption.
//   - adspevent: a RabbitMQ message turned into a source.Event exactly as ADSP's core-common
//     does, and the rejections of messages that cannot be.
//   - eventsource: the per-instance queue feeding the hub (every instance gets every event).
//   - webhookqueue: the shared queue feeding the webhook sender (each event recorded once).
//   - instancedir: the directory of instances for the owner routing of several instances behind
//     a balancer without sticky sessions (engine/cluster), kept on the broker.
//   - rabbittest: a throw-away rabbitmq-server for the tests.
package amqp
