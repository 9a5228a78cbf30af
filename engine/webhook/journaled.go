package webhook

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pushgate/pushgate/engine/journal"
	"github.com/pushgate/pushgate/engine/store"
)

// With Config.Journal set, the event records live in the journal (engine/journal) and reach the
// store only when they outlive it. A gathered batch's records are appended in one O_DSYNC write
// (~60–100 µs of CPU for the whole batch), which makes them durable: the ingest is answered, a
// Kafka batch's offsets committed, and the deliveries start. Their removals and marks (commit.go,
// eventrecord.go) are appended too, with the next batch's records while events flow (no write of
// their own) or by retireLoop within retireWindow. Most deliveries succeed within milliseconds, so
// most records are removed long before the journal is half full; only then is the journal applied
// to the store — the records still there, the removals of records applied earlier, the journal's
// position — and started over (applyJournal: the bulk committed while batches go on being
// journaled, what they added committed with the reset). An event delivered at once so costs the
// store nothing: the profile of one webhook per event had the store's commits at 10–12 % of the
// CPU when every record was put, then removed, within milliseconds.
//
// A restart applies what the journal holds after the stored position (openJournal) before
// loading, and so sends again the deliveries made whose removal had not reached the journal (with
// the same webhook-id, as any crash does). Removals of event records never go to the store
// directly while the journal is on (retireLater sends them to it): a removal committed before the
// record it removes would be undone by the record's apply.

const (
	// journalSize is the journal file's size; past half of it, it is applied to the store and
	// starts over. A batch that does not fit is committed to the store directly. Larger, more of
	// its records are removed before an apply when deliveries lag behind the ingest (a backlog
	// of a few seconds' events fits in half of it).
	journalSize = 64 << 20
	// journalKey is the key, in store.WebhookJournal, of the position up to which the journal is
	// applied.
	journalKey = "applied"
)

// unapplied is what the journal holds that the store does not; guarded by Service.jmu.
type unapplied struct {
	live    map[string][]byte // events-bucket puts not removed since
	removed map[string]bool   // events-bucket keys the store may hold, removed since
	end     journal.Pos       // of the last record: the position stored when applied
}

func newUnapplied() unapplied {
	return unapplied{live: map[string][]byte{}, removed: map[string]bool{}}
}

// fold adds ops, journaled up to end, in order. A record put and removed since the last apply
// leaves nothing: records are put once (marks, key longer than 8 bytes, may be rewritten after
// their last apply, so their removal always goes to the store).
func (u *unapplied) fold(ops []store.WebhookPut, end journal.Pos) {
	for _, o := range ops {
		if o.Value != nil {
			u.live[o.Key] = o.Value
			delete(u.removed, o.Key)
			continue
		}
		if _, was := u.live[o.Key]; was && len(o.Key) <= 8 {
			delete(u.live, o.Key)
			continue
		}
		delete(u.live, o.Key)
		u.removed[o.Key] = true
	}
	u.end = end
}

func (u *unapplied) empty() bool { return len(u.live) == 0 && len(u.removed) == 0 }

// absorb adds newer, what was folded after u, to u (as if folded in order).
func (u *unapplied) absorb(newer unapplied) {
	for k := range newer.removed {
		_, was := u.live[k]
		delete(u.live, k)
		if !was || len(k) > 8 {
			u.removed[k] = true
		}
	}
	for k, v := range newer.live {
		u.live[k] = v
		delete(u.removed, k)
	}
	u.end = newer.end
}

// puts returns the store writes that apply u, the position last.
func (u *unapplied) puts() []store.WebhookPut {
	puts := make([]store.WebhookPut, 0, len(u.live)+len(u.removed)+1)
	for k, v := range u.live {
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: k, Value: v})
	}
	for k := range u.removed {
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: k})
	}
	return append(puts, positionPut(u.end))
}

// openJournal opens the journal and applies to the store what it holds beyond the stored position
// (a crash before the journal was applied), then starts it over.
func (s *Service) openJournal(path string) error {
	size := s.cfg.JournalSize
	if size == 0 {
		size = journalSize
	}
	j, err := journal.Open(path, size)
	if err != nil {
		return err
	}
	at, err := s.cfg.Store.GetWebhook(store.WebhookJournal, journalKey)
	if err != nil {
		return errors.Join(err, j.Close())
	}
	recs, err := j.Records(decodePos(at))
	if err != nil {
		return errors.Join(err, j.Close())
	}
	s.jr, s.ju = j, newUnapplied()
	for _, r := range recs {
		ops, err := decodeOps(r.Data)
		if err != nil { // a record the checksum passed but that does not decode: not ours
			return errors.Join(fmt.Errorf("webhook: journal %s: %w", path, err), j.Close())
		}
		s.ju.fold(ops, r.End)
	}
	if len(recs) > 0 {
		if err := s.cfg.Store.WriteWebhooksNow(store.WebhookBatch{Puts: s.ju.puts()}); err != nil {
			return errors.Join(err, j.Close())
		}
		s.log.Info("webhook: journal applied after a restart", "records", len(recs))
	}
	s.ju = newUnapplied()
	if err := j.Reset(); err != nil {
		return errors.Join(err, j.Close())
	}
	return nil
}

// journalRecords makes the event records in puts durable in the journal, with the removals and
// marks waiting, and starts ds. It returns false when the journal cannot take them (full even
// after an apply, or a failed write): the caller commits them to the store itself.
func (s *Service) journalRecords(ds []*delivery, puts []store.WebhookPut) bool {
	if err := s.journalOps(puts); err != nil {
		if !errors.Is(err, journal.ErrFull) {
			s.log.Error("webhook: journal write failed; recording in the store directly", "err", err)
		}
		return false
	}
	s.startRecorded(ds)
	return true
}

// journalRemovals appends the removals and marks waiting (retireLoop, when no batch took them).
func (s *Service) journalRemovals() {
	if err := s.journalOps(nil); err != nil && !errors.Is(err, journal.ErrFull) {
		s.log.Error("webhook: journal write failed; the removals wait for the next apply", "err", err)
	}
}

// journalOps appends records and the removals and marks waiting; when the journal cannot take
// them, it applies the journal (which starts it over) and tries once more.
func (s *Service) journalOps(records []store.WebhookPut) error {
	s.jmu.Lock()
	err := s.appendLocked(records)
	s.jmu.Unlock()
	if err == nil {
		return nil
	}
	if aerr := s.applyJournal(); aerr != nil {
		return err
	}
	s.jmu.Lock()
	err = s.appendLocked(records)
	s.jmu.Unlock()
	return err
}

// appendLocked appends records, then the removals and marks waiting, as one journal record, and
// asks retireLoop to apply the journal once it is past half full. When the write fails, the
// removals and marks are kept for the next apply (not durable until then) and the error returned.
func (s *Service) appendLocked(records []store.WebhookPut) error {
	ops := append(append(records[:len(records):len(records)], s.takeJournalOps()...), s.takeMarks()...)
	if len(ops) == 0 {
		return nil
	}
	end, err := s.jr.AppendWith(func(dst []byte) []byte { return appendOps(dst, ops) })
	if err != nil {
		s.ju.fold(ops[len(records):], s.ju.end)
		return err
	}
	s.ju.fold(ops, end)
	if s.jr.Worn() {
		select {
		case s.wsignal <- struct{}{}:
		default:
		}
	}
	return nil
}

// applyJournal applies what the journal holds that the store does not, and starts the journal
// over. The bulk — everything held when it starts, possibly a backlog of thousands of records —
// is committed without the journal's lock, the journal position with it, so that batches go on
// being journaled meanwhile; what they added is committed with that lock held, and the journal
// reset. A failed bulk commit is taken back, before what came since.
func (s *Service) applyJournal() error {
	s.amu.Lock()
	defer s.amu.Unlock()
	s.jmu.Lock()
	bulk := s.ju
	s.ju = newUnapplied()
	s.ju.end = bulk.end
	s.jmu.Unlock()
	if s.beforeBulk != nil {
		s.beforeBulk()
	}
	if !bulk.empty() {
		if err := s.cfg.Store.WriteWebhooksNow(store.WebhookBatch{Puts: bulk.puts()}); err != nil {
			s.jmu.Lock()
			bulk.absorb(s.ju)
			s.ju = bulk
			s.jmu.Unlock()
			s.log.Error("webhook: could not apply the journal to the store; retried", "err", err)
			return err
		}
	}
	s.jmu.Lock()
	defer s.jmu.Unlock()
	if !s.ju.empty() {
		if err := s.cfg.Store.WriteWebhooksNow(store.WebhookBatch{Puts: s.ju.puts()}); err != nil {
			s.log.Error("webhook: could not apply the journal to the store; retried", "err", err)
			return err
		}
		s.ju = newUnapplied()
	}
	if err := s.jr.Reset(); err != nil {
		s.log.Error("webhook: journal reset failed", "err", err)
		return err
	}
	return nil
}

// startRecorded queues deliveries whose records are durable (in the journal or the store).
func (s *Service) startRecorded(ds []*delivery) {
	s.mu.Lock()
	for _, d := range ds {
		if s.addPendingLocked(d) {
			s.receipts.update(d.EventID, func(e *EventWebhooks) { e.Queued++ })
		} else {
			s.retireLater(s.releaseLocked(d)...)
		}
	}
	s.mu.Unlock()
	s.kick()
}

func positionPut(p journal.Pos) store.WebhookPut {
	v := binary.LittleEndian.AppendUint32(nil, p.Epoch)
	return store.WebhookPut{Bucket: store.WebhookJournal, Key: journalKey, Value: binary.LittleEndian.AppendUint64(v, uint64(p.Off))}
}

func decodePos(v []byte) journal.Pos {
	if len(v) != 12 {
		return journal.Pos{}
	}
	return journal.Pos{Epoch: binary.LittleEndian.Uint32(v), Off: int64(binary.LittleEndian.Uint64(v[4:]))}
}

// appendOps appends events-bucket puts and removals encoded as a journal record: per op, the
// key's length (u16), the key, the value's length (u32; 0 for a removal), the value.
func appendOps(b []byte, puts []store.WebhookPut) []byte {
	for _, p := range puts {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Key)))
		b = append(b, p.Key...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Value)))
		b = append(b, p.Value...)
	}
	return b
}

func decodeOps(b []byte) ([]store.WebhookPut, error) {
	var puts []store.WebhookPut
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("truncated record")
		}
		k := int(binary.LittleEndian.Uint16(b))
		if len(b) < 2+k+4 {
			return nil, errors.New("truncated record")
		}
		key := string(b[2 : 2+k])
		v := int(binary.LittleEndian.Uint32(b[2+k:]))
		b = b[6+k:]
		if len(b) < v {
			return nil, errors.New("truncated record")
		}
		var val []byte
		if v > 0 {
			val = b[:v:v]
		}
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: key, Value: val})
		b = b[v:]
	}
	return puts, nil
}
