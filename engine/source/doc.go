// Package source carries domain events from where they enter pushgate to the hub.
//
// # Event ingest
//
// DecodeEvent validates an event-service v1 body (POST /event/v1/events):
//
//	{"namespace":"pdf-service","name":"pdf-generated","timestamp":"2026-01-02T03:04:05.678Z",
//	 "correlationId":"job-1","context":{"jobId":"job-1"},"payload":{…},"tenantId":"acme"}
//
// Limits: at most MaxEventBytes (1 MiB, else ErrBodyTooLarge) and MaxEventDepth (32) levels of
// nesting, the body counting as level 1. namespace and name are 1–50 characters; timestamp is an
// ISO-8601 string (RFC 3339 with an optional fraction, the same without a zone read as UTC, or a bare
// date); payload is an object; context, when present, is an object of scalar values; correlationId and
// tenantId, when present, are strings (an empty correlationId counts as absent). JSON null counts as
// absent. Every other violation is an *InvalidEventError whose Reason can be shown to the caller.
//
// (*Incoming).Event builds the immutable *Event for a resolved tenant URN. Its JSON is the canonical
// form documented on Event.JSON, encoded as JavaScript's JSON.stringify would: strings escape only '"',
// '\\' and control characters; context and payload keep the caller's bytes with insignificant
// whitespace removed; the timestamp is re-serialised in UTC with milliseconds.
//
// # Embedded bus
//
// Bus is the in-process source of embedded mode. Publish assigns ids "<epoch>-<seq>" (epoch = the
// bus's start in unix seconds, seq from 1 without gaps) and enqueues the event on a bounded queue;
// one dispatcher goroutine hands events, in id order, to the single subscriber. A full queue fails
// fast with ErrOverloaded (the REST layer answers 503 with Retry-After) instead of blocking publishers.
// The subscriber runs on the dispatcher goroutine and must not call Publish or Close.
//
// An event with an IdempotencyKey that the bus published within its engine/dedupe window (same
// tenant, IdempotencyScope) is not published again: Publish returns the first one's id, so a
// publisher's retry after a lost answer is delivered once.
package source
