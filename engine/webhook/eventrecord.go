package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/protocol/jsontext"
)

// An event's new deliveries are recorded together: one record in the store's events bucket holds
// the body, the trigger and, per endpoint, the delivery's id and sequence. A delivery gets a record
// of its own (the pending bucket) only when its state must outlive its first attempt — a retry's
// due time, a replay — and most never do: a delivery that succeeds at once costs its share of one
// put and one delete instead of a put and a delete of its own body (at 100 webhooks per event the
// per-delivery records were a fifth of the CPU: 100 copies of the body written, then deleted).
//
// The event record stays until every delivery in it is settled: delivered, dead-lettered,
// cancelled, or given its own record. It is removed in the same transaction as the last one's
// own or dead-letter record, or lazily with the delivered records (commit.go) when the last one
// succeeded or was cancelled. While some of an event's deliveries are delivered and others still
// pending (a slower webhook, a backlog), the record gets a mark: a bitmap of its delivered
// deliveries under the record's key + "m", rewritten with the removals of the next commit when it
// changed (one small put per record and commit, not one per delivery) and removed with the
// record, so that a crash does not send again what the faster webhooks already got. A restart
// loads the own records first, then each event record's deliveries that have no own record, no
// mark bit and no dead letter; a crash may send again a delivery whose removal or mark was not
// committed yet (with its webhook-id), as before.

// eventGroup is the in-memory side of one event record; guarded by Service.mu.
type eventGroup struct {
	key       string // in the events bucket
	left      int    // deliveries not settled yet
	delivered []byte // bitmap by position in the record; nil until one is delivered
	dirty     bool   // delivered changed since its mark was last written (queued in Service.marking)
	marked    bool   // a mark was written: removed with the record
}

// markKey is the key of the record's mark (records have 8-byte keys).
func markKey(recordKey string) string { return recordKey + "m" }

// eventRecord is the stored form (appendEventRecord writes it by hand).
type eventRecord struct {
	Body        json.RawMessage `json:"body"`
	Trigger     trigger         `json:"trigger"`
	Created     time.Time       `json:"created"`
	Due         time.Time       `json:"due"`
	Traceparent string          `json:"traceparent,omitempty"`
	EventID     string          `json:"eventId,omitempty"`
	Deliveries  []eventDelivery `json:"deliveries"`
}

type eventDelivery struct {
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
	Seq      int64  `json:"seq"`
}

// eventKey is an event record's key: a sequence, big-endian, so records are appended at the end of
// the B+tree and loaded in recording order.
func eventKey(seq int64) string { return seqKey(seq, "") }

// appendEventRecord appends the record of ds, deliveries of one event (proto holds what they share):
// the JSON json.Marshal(eventRecord) gives (TestEventRecordMatchesMarshal).
func appendEventRecord(dst []byte, proto *delivery, due time.Time, ds []*delivery) []byte {
	dst = append(dst, `{"body":`...)
	dst = appendRaw(dst, proto.Body)
	dst = append(dst, `,"trigger":`...)
	dst = appendTrigger(dst, &proto.Trigger)
	dst = append(dst, `,"created":`...)
	dst = appendTime(dst, proto.Created)
	dst = append(dst, `,"due":`...)
	dst = appendTime(dst, due)
	if proto.Traceparent != "" {
		dst = append(dst, `,"traceparent":`...)
		dst = jsontext.AppendString(dst, proto.Traceparent)
	}
	if proto.EventID != "" {
		dst = append(dst, `,"eventId":`...)
		dst = jsontext.AppendString(dst, proto.EventID)
	}
	dst = append(dst, `,"deliveries":[`...)
	for i, d := range ds {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = jsontext.AppendString(dst, d.ID)
		dst = append(dst, `,"endpoint":`...)
		dst = jsontext.AppendString(dst, d.Endpoint)
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendInt(dst, d.Seq, 10)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// eventRecordSize is a little more than appendEventRecord writes for ds (escapes aside), so the
// record is built in one allocation.
func eventRecordSize(ds []*delivery) int {
	t := &ds[0].Trigger
	n := 256 + len(ds[0].Body) + len(ds[0].Traceparent) + len(ds[0].EventID) +
		len(t.TenantID) + len(t.Namespace) + len(t.Name) + len(t.CorrelationID) + len(t.Context)
	for _, d := range ds {
		n += 48 + len(d.ID) + len(d.Endpoint)
	}
	return n
}

// recordEvents turns the new deliveries (in event order; those of one event adjacent and sharing
// their body) into event records, one per event, and links each delivery to its group.
func (s *Service) recordEvents(ds []*delivery, puts []store.WebhookPut) []store.WebhookPut {
	for i := 0; i < len(ds); {
		j := i + 1
		for j < len(ds) && ds[j].EventID == ds[i].EventID && sameBody(ds[j], ds[i]) {
			j++
		}
		g := &eventGroup{key: eventKey(s.seq.Add(1)), left: j - i}
		for n, d := range ds[i:j] {
			d.grp, d.gi = g, n
		}
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: g.key,
			Value: appendEventRecord(make([]byte, 0, eventRecordSize(ds[i:j])), ds[i], ds[i].Due, ds[i:j])})
		i = j
	}
	return puts
}

// sameBody reports whether a and b were made from one event (forEndpoint shares the body).
func sameBody(a, b *delivery) bool {
	return len(a.Body) > 0 && len(a.Body) == len(b.Body) && &a.Body[0] == &b.Body[0]
}

// releaseLocked settles d in its event record. When d was the last, it returns the removal of the
// record (and its mark); the caller writes it with d's own or dead-letter record, or retires it
// (successes, cancellations) — a retried or dead delivery is released only once its own or
// dead-letter record is durable (writeDeliveries).
func (s *Service) releaseLocked(d *delivery) []store.WebhookPut {
	g := d.grp
	if g == nil {
		return nil
	}
	d.grp = nil
	if g.left--; g.left > 0 {
		return nil
	}
	g.dirty = false // its queued mark, if any, is not written (takeMarks skips it)
	puts := []store.WebhookPut{{Bucket: store.WebhookEvents, Key: g.key}}
	if g.marked {
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: markKey(g.key)})
	}
	return puts
}

// deliveredLocked settles a delivered d in its event record: the record's removal when d was
// the last, else d's bit in the record's mark, written with the next commit.
func (s *Service) deliveredLocked(d *delivery) []store.WebhookPut {
	g := d.grp
	if g == nil || g.left == 1 {
		return s.releaseLocked(d)
	}
	if n := d.gi/8 + 1; n > len(g.delivered) {
		g.delivered = append(g.delivered, make([]byte, n-len(g.delivered))...)
	}
	g.delivered[d.gi/8] |= 1 << (d.gi % 8)
	if !g.dirty {
		g.dirty = true
		s.marking = append(s.marking, g)
		s.signalRetire() // written within retireWindow even if nothing else is
	}
	s.releaseLocked(d)
	return nil
}

// takeMarks returns the puts of the marks that changed since the last call (of records not
// removed meanwhile).
func (s *Service) takeMarks() []store.WebhookPut {
	s.mu.Lock()
	defer s.mu.Unlock()
	var puts []store.WebhookPut
	for _, g := range s.marking {
		if !g.dirty || g.left == 0 {
			continue
		}
		g.dirty, g.marked = false, true
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: markKey(g.key), Value: bytes.Clone(g.delivered)})
	}
	clear(s.marking)
	s.marking = s.marking[:0]
	return puts
}

// loadEvents adds the deliveries of the stored event records that are not pending (own records,
// loaded first) or dead already; records with none left are removed. It runs in New.
func (s *Service) loadEvents() error {
	type stored struct {
		key string
		rec eventRecord
	}
	var recs []stored
	var bad error
	marks := map[string][]byte{}
	err := s.cfg.Store.EachWebhook(store.WebhookEvents, func(k string, v []byte) error {
		if len(k) > 8 { // a record's mark
			marks[k] = bytes.Clone(v)
			return nil
		}
		var r eventRecord
		if err := json.Unmarshal(v, &r); err != nil {
			bad = errors.Join(bad, err)
			return nil
		}
		recs = append(recs, stored{k, r})
		return nil
	})
	if err != nil {
		return err
	}
	var stale []store.WebhookPut
	records := make(map[string]bool, len(recs))
	for _, sr := range recs {
		records[sr.key] = true
	}
	for k := range marks { // a mark written after its record's removal (both lazy)
		if !records[k[:8]] {
			stale = append(stale, store.WebhookPut{Bucket: store.WebhookEvents, Key: k})
		}
	}
	for _, sr := range recs {
		r := &sr.rec
		proto := &delivery{Body: r.Body, Trigger: r.Trigger, Created: r.Created, Due: r.Due,
			Traceparent: r.Traceparent, EventID: r.EventID}
		g := &eventGroup{key: sr.key}
		mark, marked := marks[markKey(sr.key)]
		g.marked, g.delivered = marked, mark
		for n, e := range r.Deliveries {
			if n/8 < len(mark) && mark[n/8]&(1<<(n%8)) != 0 { // delivered before the crash
				continue
			}
			if _, own := s.pending[e.ID]; own {
				continue
			}
			if dead, err := s.cfg.Store.GetWebhook(store.WebhookDead, e.ID); err != nil {
				return err
			} else if dead != nil {
				continue
			}
			d := proto.forEndpoint(e.ID, e.Endpoint)
			d.Seq, d.key, d.grp, d.gi = e.Seq, seqKey(e.Seq, e.ID), g, n
			if s.addPendingLocked(d) {
				g.left++
			}
		}
		if g.left == 0 {
			stale = append(stale, store.WebhookPut{Bucket: store.WebhookEvents, Key: sr.key})
			if marked {
				stale = append(stale, store.WebhookPut{Bucket: store.WebhookEvents, Key: markKey(sr.key)})
			}
		}
	}
	if len(stale) > 0 {
		if err := s.cfg.Store.WriteWebhooks(store.WebhookBatch{Puts: stale}); err != nil {
			return err
		}
	}
	if bad != nil {
		s.log.Error("webhook: some recorded events could not be read", "err", bad)
	}
	return nil
}
