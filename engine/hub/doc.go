// Package hub is pushgate's fan-out: it routes each event through the compiled stream registry
// (engine/stream), projects it once per matching stream scope, and queues the same bytes to every
// subscriber of that scope whose own criteria match.
//
// Subscriptions are spread over shards, one worker goroutine each. A worker takes every batch
// queued for it; for each item it copies the subscriber list under the shard lock and queues the
// item to those subscribers' links outside it (never blocking: links are bounded queues), then
// flushes each touched link once per batch. Wire forms are built lazily per Item: one Socket.IO
// packet per namespace spelling (a WebSocket frame and a polling record sharing one buffer) and
// one SSE record.
//
// Every published event gets a sequence number and goes into the replay history under the
// publish lock; Subscribe registers under the same lock and, with a last event id, replays the
// missed events before live delivery starts, so a subscriber sees no gap and no duplicate. The
// hand-off to the shard queues, which blocks while a shard is behind, happens after the publish
// lock is released (under a send lock that keeps the order), so Subscribe never waits for a
// slow shard. LOCKING.md has the lock order.
//
// Each event also gets one record that follows it through the shards (fanout.go): the shards add
// their figures (subscribers targeted, delivered, dropped as slow consumers or closed) and the
// last one completes the event's Receipt, kept for the history window (GET
// /push/v1/events/{eventId}), and ends its OpenTelemetry fan-out span (engine/tracing, when
// configured) — one span per event, never one per socket. Per-stream figures (StreamStats) feed
// the capped per-stream metrics.
package hub
