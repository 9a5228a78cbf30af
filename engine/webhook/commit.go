package webhook

import (
	"encoding/binary"
	"encoding/json"
	"strconv"
	"time"

	"github.com/pushgate/pushgate/engine/store"
	"github.com/pushgate/pushgate/protocol/jsontext"
)

// Removing the records of delivered webhooks is a group commit that no attempt waits for: a
// success hands its record's key to retireLoop, which removes every key handed over meanwhile in
// one store transaction (one fsync), while the endpoint's next attempt has already started. A
// crash before that commit sends those deliveries again after the restart, with the same
// webhook-id (at-least-once; receivers dedupe), which is why nothing needs to wait for it. Records
// that must not be lost — a new delivery, a retry's new due time, a dead letter — are still
// written before the work they stand for goes on.

// idleWorker is how long an attempt goroutine waits for the next attempt before it ends: reusing
// it keeps its grown stack (an HTTP send path is deep; a fresh goroutine per attempt spent
// ~7 % of the CPU growing stacks).
const idleWorker = 5 * time.Second

// seqKey is a new delivery's key in the pending bucket: its Seq (big-endian) before its id, so
// records are appended at the end of the B+tree in recording order instead of scattered by the
// id's hash (every put and delete then dirties a few pages instead of one per record), and are
// loaded in event order.
func seqKey(seq int64, id string) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return string(b[:]) + id
}

// pendingKey is d's key in the pending bucket (the id for records written before seqKey, replays
// and tests).
func pendingKey(d *delivery) string {
	if d.key != "" {
		return d.key
	}
	return d.ID
}

// retireLater queues the removal of records of delivered (or cancelled) deliveries.
func (s *Service) retireLater(puts ...store.WebhookPut) {
	if len(puts) == 0 {
		return
	}
	s.rmu.Lock()
	for _, p := range puts {
		if s.jr != nil && p.Bucket == store.WebhookEvents {
			s.jops = append(s.jops, p)
		} else {
			s.retired = append(s.retired, p)
		}
	}
	s.rmu.Unlock()
	s.signalRetire()
}

// signalRetire wakes retireLoop.
func (s *Service) signalRetire() {
	select {
	case s.rsignal <- struct{}{}:
	default:
	}
}

// retireLoop commits removals the matcher did not take along with the next deliveries it records
// within retireWindow (while events flow, their records and the removals share a transaction or,
// with the journal, a journal write), and applies the journal when it is past half full.
func (s *Service) retireLoop() {
	defer s.loops.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	sweep := time.NewTicker(trackSweep)
	defer sweep.Stop()
	var due time.Time // of the next flush; zero when nothing waits
	sooner := func(d time.Duration) {
		if at := time.Now().Add(d); due.IsZero() || at.Before(due) {
			due = at
			t.Reset(d)
		}
	}
	for {
		select {
		case <-s.stop:
			s.flushRetired()
			return
		case <-s.rsignal:
			sooner(retireWindow)
		case <-s.wsignal:
			_ = s.applyJournal() // logged; the next append past half full asks again
		case <-t.C:
			due = time.Time{}
			s.flushRetired()
		case now := <-sweep.C:
			s.expireTracked(now)
		}
	}
}

// retireWindow is how long a removal may wait to share the matcher's next transaction.
const retireWindow = 20 * time.Millisecond

// takeJournalOps takes the removals to journal.
func (s *Service) takeJournalOps() []store.WebhookPut { return s.takeQueued(&s.jops) }

// takeRetired takes the removals to commit to the store.
func (s *Service) takeRetired() []store.WebhookPut { return s.takeQueued(&s.retired) }

func (s *Service) takeQueued(q *[]store.WebhookPut) []store.WebhookPut {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	puts := *q
	*q = nil
	return puts
}

func (s *Service) giveBackRetired(puts []store.WebhookPut) {
	if len(puts) == 0 {
		return
	}
	s.rmu.Lock()
	s.retired = append(s.retired, puts...)
	s.rmu.Unlock()
}

// flushRetired commits the removals waiting and, with the journal, journals those of event
// records and the marks (journaled.go); without it they share the store transaction.
func (s *Service) flushRetired() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.jr != nil {
		s.journalRemovals()
		s.write(s.takeRetired(), nil)
		return
	}
	s.write(append(s.takeRetired(), s.takeMarks()...), nil)
}

// run runs task on an idle attempt goroutine, or on a new one.
func (s *Service) run(task func()) {
	select {
	case s.idle <- task:
	default:
		go s.worker(task)
	}
}

func (s *Service) worker(task func()) {
	t := time.NewTimer(idleWorker)
	defer t.Stop()
	for {
		task()
		t.Reset(idleWorker)
		select {
		case task = <-s.idle:
		case <-t.C:
			return
		case <-s.stop:
			return
		}
	}
}

// appendRecord appends d's store record: the JSON json.Marshal(d) gives, written by hand because
// it runs once per delivery (json.Marshal re-validated the body and the context every time).
func appendRecord(dst []byte, d *delivery) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsontext.AppendString(dst, d.ID)
	dst = append(dst, `,"endpoint":`...)
	dst = jsontext.AppendString(dst, d.Endpoint)
	dst = append(dst, `,"body":`...)
	dst = appendRaw(dst, d.Body)
	dst = append(dst, `,"trigger":`...)
	dst = appendTrigger(dst, &d.Trigger)
	dst = append(dst, `,"attempts":`...)
	dst = appendInt(dst, d.Attempts)
	dst = append(dst, `,"due":`...)
	dst = appendTime(dst, d.Due)
	dst = append(dst, `,"created":`...)
	dst = appendTime(dst, d.Created)
	if d.LastError != "" {
		dst = append(dst, `,"lastError":`...)
		dst = jsontext.AppendString(dst, d.LastError)
	}
	if !d.DeadAt.IsZero() {
		dst = append(dst, `,"deadAt":`...)
		dst = appendTime(dst, d.DeadAt)
	}
	if d.DeadReason != "" {
		dst = append(dst, `,"deadReason":`...)
		dst = jsontext.AppendString(dst, d.DeadReason)
	}
	if d.Test {
		dst = append(dst, `,"test":true`...)
	}
	if d.Traceparent != "" {
		dst = append(dst, `,"traceparent":`...)
		dst = jsontext.AppendString(dst, d.Traceparent)
	}
	if d.EventID != "" {
		dst = append(dst, `,"eventId":`...)
		dst = jsontext.AppendString(dst, d.EventID)
	}
	if d.Seq != 0 {
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendInt(dst, d.Seq, 10)
	}
	return append(dst, '}')
}

func appendTrigger(dst []byte, t *trigger) []byte {
	dst = append(dst, `{"tenantId":`...)
	dst = jsontext.AppendString(dst, t.TenantID)
	dst = append(dst, `,"namespace":`...)
	dst = jsontext.AppendString(dst, t.Namespace)
	dst = append(dst, `,"name":`...)
	dst = jsontext.AppendString(dst, t.Name)
	if t.CorrelationID != "" {
		dst = append(dst, `,"correlationId":`...)
		dst = jsontext.AppendString(dst, t.CorrelationID)
	}
	if len(t.Context) > 0 {
		dst = append(dst, `,"context":`...)
		dst = append(dst, t.Context...)
	}
	return append(dst, '}')
}

func appendRaw(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, raw...)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

func appendInt(dst []byte, n int) []byte { return strconv.AppendInt(dst, int64(n), 10) }
