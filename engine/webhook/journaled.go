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
// position — in one commit, and started over. An event delivered at once so costs the store
// nothing: the profile of one webhook per event had the store's commits at 10–12 % of the CPU when
// every record was put, then removed, within milliseconds.
//
// A restart applies what the journal holds after the stored position (openJournal) before
// loading, and so sends again what was delivered after the last removal the journal got (with the
// same webhook-id, as any crash does). Removals of event records therefore never go to the store
// directly while the journal is on (releaseLocked retires them): a removal committed before the
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
	s.jmu.Lock()
	ok := s.appendLocked(puts)
	s.jmu.Unlock()
	if ok {
		s.startRecorded(ds)
	}
	return ok
}

// appendLocked appends records, then the removals and marks waiting, as one journal record, and
// applies the journal when it is past half full. When the journal cannot take them, the removals
// and marks are applied to the store with what it holds and false is returned: the records are
// the caller's.
func (s *Service) appendLocked(records []store.WebhookPut) bool {
	ops := append(append(records[:len(records):len(records)], s.takeJournalOps()...), s.takeMarks()...)
	if len(ops) == 0 {
		return true
	}
	b := encodeOps(ops)
	end, err := s.jr.Append(b)
	if errors.Is(err, journal.ErrFull) && s.applyLocked() == nil {
		end, err = s.jr.Append(b)
	}
	if err != nil {
		if !errors.Is(err, journal.ErrFull) {
			s.log.Error("webhook: journal write failed; recording in the store directly", "err", err)
		}
		s.ju.fold(ops[len(records):], s.ju.end)
		_ = s.applyLocked() // logged
		return false
	}
	s.ju.fold(ops, end)
	if s.jr.Worn() {
		_ = s.applyLocked() // logged; the journal keeps what it holds until an apply succeeds
	}
	return true
}

// applyLocked commits what the journal holds that the store does not, and starts the journal over.
func (s *Service) applyLocked() error {
	if len(s.ju.live) > 0 || len(s.ju.removed) > 0 {
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

// applyJournal applies the journal to the store (Close: a clean stop leaves it empty).
func (s *Service) applyJournal() error {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	return s.applyLocked()
}

// journalRemovals appends the removals and marks waiting (retireLoop, when no batch took them).
func (s *Service) journalRemovals() {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	s.appendLocked(nil)
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

// encodeOps encodes events-bucket puts and removals as a journal record: per op, the key's length
// (u16), the key, the value's length (u32; 0 for a removal), the value.
func encodeOps(puts []store.WebhookPut) []byte {
	n := 0
	for _, p := range puts {
		n += 6 + len(p.Key) + len(p.Value)
	}
	b := make([]byte, 0, n)
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
