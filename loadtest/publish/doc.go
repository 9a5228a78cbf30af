// Package publish is the load generator's built-in event publisher: it POSTs
// stamped events to pushgate's ingest route (POST /event/v1/events) over
// keep-alive HTTP on a fixed timetable.
//
// No coordinated omission: ticks are scheduled at t0 + k·burst/rate and
// every event of a tick carries that scheduled time as payload.sentAt, even
// when the POST itself starts late because earlier POSTs were slow. Each
// event's payload is
//
//	{"sentAt":<scheduled unix nanos>,"seq":<n>,"step":<i>,"pad":"xxx…"}
//
// padded so the payload object is PayloadBytes long. seq increases by one per
// event across steps, starting at 1. With Conns = 1 (the default) events are
// accepted in seq order, so a subscriber that sees a lower seq after a higher
// one saw a real reordering; with more posters the out-of-order count is not
// meaningful.
//
// The Log (seq, scheduled/start/done times, success) lets the runner decide
// which seqs a client should have received: those whose POST started after
// the client was subscribed and finished before it left.
package publish
