// Package hub is pushgate's fan-out: it routes each event through the compiled stream registry
// (engine/stream), projects it once per matching stream scope, and queues the same bytes to every
// subscriber of that scope whose own criteria match.
//
// Subscriptions are spread over shards, one worker goroutine each. A worker takes every batch
// queued for it, queues the items to its subscribers' links (never blocking: links are bounded
// queues), releases its lock, and then flushes each touched link once. Wire forms are built
// lazily per Item: one Socket.IO packet per namespace spelling (a WebSocket frame and a polling
// record sharing one buffer) and one SSE record.
//
// Every published event gets a sequence number and goes into the replay history; Subscribe with
// a last event id replays the missed events before live delivery starts, under the publish lock,
// so a subscriber sees no gap and no duplicate.
package hub
