// Package webhook is the push-service's second delivery path: it POSTs domain events to the
// webhooks configured under the "webhooks" key of the platform/push-service document, signed
// (Standard Webhooks), durably queued, retried, and isolated from the Socket.IO/SSE fan-out.
// It owns the webhook schema, the trigger rules, signing, the SSRF guard, the retry schedule,
// the circuit breaker, endpoint disabling, the dead-letter list and the operator actions; the
// bbolt buckets behind them belong to engine/store (WriteWebhooks and friends).
//
// # Configuration (ADSP's shape, unchanged)
//
//	"webhooks": {
//	  "hook-1": {"id":"hook-1","name":"Hook 1","url":"https://x.example/h","description":null,
//	             "events":[{"namespace":"form-service","name":"form-submitted",
//	                        "criteria":{"context":{"definitionId":"d1"}}}]},
//	  "app-down": {"id":"app-down","name":"App down","url":"https://x.example/s","targetId":"my-app",
//	               "intervalMinutes":5,"eventTypes":[{"id":"status-service:monitored-service-down"}]}}
//
// ValidateDocument checks it on every write (a 400 names the field, e.g.
// "webhooks.hook-1.url: must be an absolute http:// or https:// URL"). Keys match
// ^[a-zA-Z0-9-_ ]{1,50}$; id, name and url are required; events[].map is accepted and ignored;
// null webhooks and null entries are allowed; unknown fields are kept and ignored. A tenant
// document's webhooks see that tenant's events; the core document's webhooks see every tenant's.
//
// # When a webhook triggers (ADSP push/model/webhook.ts)
//
// Never for push-service:webhook-triggered. Generic webhooks (no targetId): some events[] entry has
// the event's namespace and name (case-sensitive) and its criteria match the raw event
// (correlationId equal when set; every context entry strictly equal). App-status webhooks
// (targetId): "<namespace>:<name>" is in eventTypes[].id and payload.application.appKey or
// payload.application.id equals targetId.
//
// # What is POSTed
//
// The body is ADSP's: the internal DomainEvent as ADSP's axios.post serialised it, tenantId being
// the AdspId object (receivers written for ADSP parse it), e.g.
//
//	{"namespace":"form-service","name":"form-submitted",
//	 "tenantId":{"type":"resource","namespace":"platform","service":"tenant-service","api":"v2","resource":"/tenants/61f…"},
//	 "correlationId":"c-1","context":{"definitionId":"d1"},"timestamp":"2026-01-02T03:04:05.678Z","payload":{…}}
//
// (correlationId and context omitted when absent.) Headers: Content-Type: application/json,
// User-Agent: pushgate-webhooks/1 and Standard Webhooks' three:
//
//	webhook-id: msg_<26 base32>      the same on every retry, after a restart and on a replay
//	webhook-timestamp: <unix seconds> the time of this attempt
//	webhook-signature: v1,<base64 HMAC-SHA256(secret, id "." timestamp "." body)> [v1,<previous secret's>]
//
// The secret is "whsec_" + base64(32 random bytes), created by pushgate when a webhook first
// appears, kept in the store (not in the document), readable and rotatable only by configuration
// admins (operator routes). During a rotation's overlap (default 24 h) both signatures are sent.
//
// # Delivery
//
// At-least-once. An event's matching (event, webhook) pairs are written together, as one record
// of the events bucket (body and trigger once, id and sequence per webhook; one journal write, or
// without the journal one store transaction, per batch of events: eventrecord.go), before any is
// scheduled. A delivery gets a
// record of its own in the pending bucket only when its state must outlive its first attempt (a
// retry's due time, a replay); the event record goes once all its deliveries are delivered, dead,
// cancelled or recorded on their own (meanwhile a bitmap mark beside it names the delivered
// ones), so a crash re-sends every delivery not known to be done, with the same webhook-id. Schedule (Config.Schedule, --webhook-retry-schedule):
// now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20 % jitter. Every attempt is bounded by
// Config.Timeout (15 s); 2xx is success; 410 disables the endpoint; 3xx (redirects are never
// followed), other statuses and network errors are retried. After the last attempt the delivery
// moves to the dead-letter list, from which operators replay it (same webhook-id, new budget).
// Without Kafka the ingest waits for the record (Track registers a done the matcher calls after
// the write; stuck ones are failed by one sweep a second, durable.go), so an acknowledged event's
// deliveries survive kill -9; while events stream in, the matcher gathers them (gather.go) and
// writes a gathered batch's records to the journal (Config.Journal, journaled.go: one O_DSYNC
// write, O_DIRECT where the file system allows, engine/journal), which makes them durable and
// starts their deliveries. The removals of delivered records
// ride on the next batch's journal write (or retireLoop's, commit.go), so a crash may re-send a
// delivered one; the journal is applied to the store only when it is half full — the records
// still pending then, the removals of records applied before — so an event delivered at once
// costs the store nothing; a restart applies what the journal holds beyond the store's position.
// Successful attempts are kept in memory only (attempts.go); failed ones are also stored.
//
// Each endpoint has its own HTTP client (sender.go: fasthttp's HostClient, kept-alive
// connections, the request written and the answer read on the attempt's goroutine); removing the
// webhook or closing the service closes its connections, aborting an attempt in flight.
//
// Receiver controls (controls.go): Hook.RateLimit spaces the attempts to an endpoint (attempts per
// second, uncharged waits); Hook.Ordered allows one delivery in flight, in event order, the next
// after a success or a dead letter; a 429's or 503's Retry-After (seconds or HTTP date) sets the
// next attempt and pauses the endpoint until then, capped by the schedule's longest delay.
//
// Per endpoint: at most Config.MaxInFlight (4) attempts at once; after BreakerThreshold (5)
// consecutive failures the circuit opens for BreakerCooldown (30 s, doubling to 10 min while the
// half-open probe fails) and due deliveries wait without being charged an attempt; an endpoint
// failing without a success for DisableAfter (5 days) is disabled, push-service:webhook-disabled is
// emitted and its queued deliveries are dead-lettered. A removed webhook stops at once: its queued
// deliveries are cancelled (pushgate_webhook_deliveries_total{result="cancelled"}).
//
// Every attempt emits push-service:webhook-triggered through the Publisher with ADSP's payload
// {webhook{name,url,targetId}, trigger{namespace,name,correlationId,context},
// response{status,statusCode,timestamp}, responseTime} plus webhookId, deliveryId, attempt and
// outcome; for a timeout or network error statusCode is null and status the outcome.
//
// # Isolation from the fan-out
//
// Observe runs on the hub's goroutine and only checks an immutable index and appends to a queue;
// matching, disk writes and HTTP run on the service's own goroutines (one matcher, one
// scheduler, one reused goroutine per in-flight attempt). A full match queue (MaxQueued) drops events
// for webhooks, counted, rather than slowing the hub.
//
// # A bounded backlog
//
// Pending deliveries live in memory with their bodies. Beyond Settings.MaxPending (backlog.go)
// events that a webhook lists are refused, not dropped: Track refuses them before the ingest
// publishes (503 with Retry-After), Record refuses a Kafka or RabbitMQ batch (retried later).
//
// # Safety
//
// Guard (net.Dialer.Control, on the resolved address, before connect) decides on the canonical
// address (zone dropped, IPv4-mapped unmapped, NAT64 by its embedded IPv4) and refuses every range
// of the IANA special-purpose registries (loopback, RFC 1918, CGNAT, link-local 169.254.169.254,
// ULA, multicast, documentation, benchmarking, reserved, 6to4, Teredo, IPv4-compatible, any IPv6
// outside 2000::/3); ValidateWith applies it to address literals when a document is saved
// (Guard.CheckURL, inet_aton spellings included); no proxy from the environment; response bodies are read up to 64 KiB (1 KiB
// kept in the attempt log); secrets never reach a log line, and URLs are kept out of error texts.
//
// # Several instances
//
// The shared part of an endpoint's state (secrets, disabled) is the store's replicated webhook
// state (state.go): in Kafka mode all instances sign with the same secret, and nothing is signed
// before the config topic confirmed it. Record is the synchronous hand-off of Kafka mode's consumer
// group (engine/control); Observe is the hub-side feed of one process (the single server, or the
// parent of --workers).
//
// # Not done
//
// Secrets are sealed at rest only with Settings.SecretsKey (seal.go).
// Deliveries recorded by an instance stay in its store: a Kafka-mode instance that never comes back
// takes its unsent deliveries with it (events it had not committed are taken over).
package webhook
