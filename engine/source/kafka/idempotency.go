package kafka

import (
	"strconv"
	"time"

	"github.com/pushgate/pushgate/engine/dedupe"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/source"
)

// IdempotencyHeader is the record header carrying the publisher's Idempotency-Key (POST
// /event/v1/events). A retried publish is written again (the first answer was lost, so the
// publisher cannot know); every reader of the topic — each instance's Source, its ReadRange and
// the webhook Group — drops a record whose tenant and key it saw at an earlier position within
// the dedupe window (engine/dedupe). A tenant's records share a partition, so every reader meets
// the first occurrence first and all drop the same repeats; age is the record's timestamp.
const IdempotencyHeader = "pushgate-idempotency-key"

func idempotencyKey(headers []client.Header) string {
	for _, h := range headers {
		if h.Key == IdempotencyHeader {
			return string(h.Value)
		}
	}
	return ""
}

// position names a record for the window: "<partition>:<offset>".
func position(part int, off int64) string {
	return strconv.Itoa(part) + ":" + strconv.FormatInt(off, 10)
}

// RepeatRecord reports whether the record at (part, off), decoded as ev, repeats an earlier
// record of the same tenant and idempotency key held by w (and records it when it is the first).
func RepeatRecord(w *dedupe.Window, ev *source.Event, headers []client.Header, part int, off int64, at time.Time) bool {
	if len(headers) == 0 {
		return false
	}
	k := idempotencyKey(headers)
	if k == "" {
		return false
	}
	if at.IsZero() {
		at = time.Now()
	}
	_, repeat := w.First(source.IdempotencyScope(ev.TenantID, k), position(part, off), at)
	return repeat
}
