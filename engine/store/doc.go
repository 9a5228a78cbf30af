// Package store is the embedded, durable store of tenants and stream-configuration documents
// (ADSP configuration `platform:push-service`), backed by a bbolt file `<dataDir>/pushgate.db`.
//
// # Basics
//
// Open creates the file on first start, seeds the tenant "demo" (realm "demo") and the core document
// returned by Options.Seed, and keeps an in-memory copy of every tenant so that ResolveTenant and
// TenantByRealm never touch the disk (TenantByRealm runs on every token verification). With
// Options.Tenants (the ADSP tenant service, engine/adsp) an outside TenantAuthority owns the tenant
// list instead: every tenant look-up is answered by it, without a store lock held.
//
// Documents are JSON objects. PatchConfig accepts the configuration-service v2 PATCH bodies:
//
//	{"operation":"UPDATE","update":{…}}        top-level merge: plain objects are shallow-merged
//	                                           ({...old,...new}), arrays of strings concatenated,
//	                                           anything else replaced; new keys are appended
//	{"operation":"REPLACE","configuration":{…}} the whole document is replaced
//	{"operation":"DELETE","property":"<id>"}   lodash unset: a direct key, else a path such as
//	                                           "webhooks[hook-1]" or "a.b"
//
// The result is compacted (insignificant whitespace removed, key order kept) and validated with
// Options.Validate. A new revision is stored only when the compacted bytes differ from the current
// ones; a no-op PATCH returns the current revision and fires no change notification.
//
// # Revisions
//
// Only the latest revision of each document is kept. The first stored document is revision 0
// (as in ADSP); each change increments it. Created is the time the document was first stored,
// LastUpdated the time of the latest change. (ADSP updates revision 0 in place until a client asks
// for a new revision; pushgate numbers every change so that a reader can tell versions apart.)
//
// # Errors
//
// ErrNotFound (unknown tenant), ErrNoConfig (the tenant has no document yet), ErrConflict (duplicate
// tenant name) and *ValidationError (bad input; 400) are matched with errors.Is / errors.As.
//
// # Replication
//
// With Options.Replicate set (the Kafka config topic, see engine/kafka/configsync.ConfigSync), every
// tenant creation and every new configuration revision is handed to Replicate as a Record
// {Kind "tenant"|"config", Key tenant URN or "core", Value tenant JSON or Revision JSON} BEFORE it
// is committed locally; if Replicate fails the call fails with ErrReplication and nothing changes.
// (Replicate runs with no lock held and outside any bbolt transaction; the write is checked again
// before it commits, and a racing change is re-applied on top: LOCKING.md.) The seed of the first
// start is not replicated; the replicator publishes it later if the topic lacks it (Records).
//
// ApplyRemote applies a record from the topic and fires Changes when something changed. Configs:
// a lower revision is ignored, the same revision and bytes is a no-op, a higher revision — or the
// same revision with other bytes (two concurrent PATCHes; the later record in topic order wins) —
// replaces the document. Tenants: a known id is a no-op; a remote tenant whose name or realm is held
// by a local tenant that no remote record has confirmed yet (typically the "demo" tenant each
// instance seeds) replaces it; against a confirmed tenant it is refused with ErrConflict (the first
// record in topic order wins). Concurrent creations of one name on two instances therefore end with
// the first record's tenant everywhere.
//
// # Webhook endpoint state
//
// PutWebhookState, DeleteWebhookState and WebhookState keep engine/webhook's per-endpoint state
// (opaque JSON with a version) in the bucket "webhook_endpoint_state", replicated as records of kind
// "webhook" so that every instance signs with the same secret. The rule, identical on every
// instance: a higher version replaces a lower one; for an equal version the first record in topic
// order wins (a later one with other bytes, or a lower version read after a higher one, is refused
// with a *WebhookConflictError wrapping ErrConflict and carrying the winner to republish, because
// compaction keeps a key's last record); a local write stays unconfirmed until read back and is
// replaced by a remote record of the same or a higher version. Deletion is a versioned record with
// "deleted":true. The outbox buckets of WriteWebhooks (pending, dead, attempts) stay local.
//
// # Concurrency
//
// Every method is safe for concurrent use. Writes are serialised by bbolt's single writer; the
// in-memory tenant index is guarded by a RWMutex that is held across the tenant write so that disk
// and memory never disagree. Changes returns one channel, buffered 1, that receives a value (coalesced)
// after every tenant creation and every stored configuration change; it is never closed.
package store
