// Publishes domain events to RabbitMQ exactly as the ADSP event service does
// (GovAlta/adsp-monorepo apps/event-service/src/amqp/service.ts, publishWithin): with amqplib
// (0.8.0, the version ADSP pins), to the topic exchange "domain-events", routing key
// <namespace>.<name>.<tenant URN>, body = JSON of the payload only, contentType application/json,
// messageId/id = the event id, and the rest in headers (undefined values omitted by amqplib).
// Usage: node amqp-publish.mjs <amqp url> <tenant URN> <count> <namespace> <name> [start]
import amqp from 'amqplib';

const [url, tenantId, count, namespace, name, start = '1'] = process.argv.slice(2);
const conn = await amqp.connect(url);
const channel = await conn.createConfirmChannel();
await channel.assertExchange('domain-events', 'topic');
for (let i = Number(start); i < Number(start) + Number(count); i++) {
  const event = {
    id: `0190d1f0-0000-7000-8000-${String(i).padStart(12, '0')}`,
    namespace, name, tenantId, correlationId: `job-${i}`,
    context: { jobId: `job-${i}`, attempt: 1, parity: i % 2 ? 'odd' : 'even' },
    timestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, i)),
    payload: { seq: i, note: 'from amqplib' },
  };
  const routingKey = `${namespace}.${name}.${tenantId}`;
  channel.publish('domain-events', routingKey, Buffer.from(JSON.stringify(event.payload)), {
    contentType: 'application/json',
    messageId: event.id,
    headers: {
      id: event.id,
      namespace, name,
      tenantId: `${tenantId}`,
      correlationId: event.correlationId,
      context: event.context,
      timestamp: event.timestamp.toISOString(),
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
    correlationId: event.correlationId,
  });
}
await channel.waitForConfirms();
await conn.close();
