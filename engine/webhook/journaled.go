package webhook

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/pushgate/pushgate/engine/journal"
	"github.com/pushgate/pushgate/engine/store"
)

// With Config.Journal set, recording an event's deliveries is two steps. The event records are
// appended to the journal (engine/journal: one O_DSYNC write, ~60 µs of CPU for a whole gathered
// batch), which makes them durable: the ingest is answered and a Kafka batch's offsets committed.
// The deliveries are then held until the records are applied to the store, at most applyWindow
// later, in one commit with every other batch journaled meanwhile and the removals and marks
// waiting (retireLoop) — a store commit (~240 µs) per few milliseconds instead of one per
// gathered batch. The commit also stores how far the journal is applied; a restart applies the
// records after that position before loading (openJournal). Held deliveries are not sent and
// not known to the rest of the service until applied, so no removal, mark or record of their own
// can reach the store before their event record does.

const (
	// applyWindow is how long journaled records may wait for the store commit that applies them
	// (and starts their deliveries).
	applyWindow = 5 * time.Millisecond
	// applyNow: this many held deliveries are applied without waiting for the window.
	applyNow = 4096
	// journalSize is the journal file's size; past half of it, the journal starts over once
	// everything in it is applied. An event record that does not fit is committed to the store
	// directly.
	journalSize = 16 << 20
	// journalKey is the key, in store.WebhookJournal, of the position up to which the journal is
	// applied.
	journalKey = "applied"
)

// held are journaled deliveries not yet applied to the store; guarded by Service.jmu.
type held struct {
	ds   []*delivery
	puts []store.WebhookPut
	end  journal.Pos // of the last journaled record: the position stored once they are applied
}

// openJournal opens the journal and applies to the store what it holds beyond the stored position
// (a crash after an append, before the commit that applied it), then starts it over.
func (s *Service) openJournal(path string) error {
	j, err := journal.Open(path, journalSize)
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
	if len(recs) > 0 {
		var puts []store.WebhookPut
		for _, r := range recs {
			p, err := decodePuts(r.Data)
			if err != nil { // a record the checksum passed but that does not decode: not ours
				return errors.Join(fmt.Errorf("webhook: journal %s: %w", path, err), j.Close())
			}
			puts = append(puts, p...)
		}
		puts = append(puts, positionPut(recs[len(recs)-1].End))
		if err := s.cfg.Store.WriteWebhooksNow(store.WebhookBatch{Puts: puts}); err != nil {
			return errors.Join(err, j.Close())
		}
		s.log.Info("webhook: journal applied after a restart", "records", len(recs))
	}
	if err := j.Reset(); err != nil {
		return errors.Join(err, j.Close())
	}
	s.jr = j
	return nil
}

// journalRecords makes the event records in puts durable in the journal and holds ds until they
// are applied. It returns false when the journal cannot take them (full, or a failed write): the
// caller commits them to the store itself.
func (s *Service) journalRecords(ds []*delivery, puts []store.WebhookPut) bool {
	s.jmu.Lock()
	end, err := s.jr.Append(encodePuts(puts))
	if err != nil {
		s.jmu.Unlock()
		if !errors.Is(err, journal.ErrFull) {
			s.log.Error("webhook: journal write failed; recording in the store directly", "err", err)
		}
		s.flushRetired() // applies what is held, so the journal can start over
		return false
	}
	s.held.ds = append(s.held.ds, ds...)
	s.held.puts = append(s.held.puts, puts...)
	s.held.end = end
	n := len(s.held.ds)
	s.jmu.Unlock()
	if n >= applyNow {
		s.flushRetired()
	} else {
		s.signalApply()
	}
	return true
}

// signalApply wakes retireLoop for held deliveries.
func (s *Service) signalApply() {
	select {
	case s.asignal <- struct{}{}:
	default:
	}
}

// takeHeld takes the held deliveries and their records.
func (s *Service) takeHeld() held {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	h := s.held
	s.held = held{}
	return h
}

// releaseHeld ends takeHeld: on success the deliveries start, and the journal starts over when it
// is past half full (or a write failed) and holds nothing unapplied; on failure they are held again, before any held
// since.
func (s *Service) releaseHeld(h held, err error) {
	s.jmu.Lock()
	if err != nil {
		s.held.ds = append(h.ds, s.held.ds...)
		s.held.puts = append(h.puts, s.held.puts...)
		if s.held.end == (journal.Pos{}) { // nothing journaled since: the position is h's
			s.held.end = h.end
		}
		s.jmu.Unlock()
		s.signalApply()
		return
	}
	if len(s.held.puts) == 0 && s.jr.Worn() {
		if rerr := s.jr.Reset(); rerr != nil {
			s.log.Error("webhook: journal reset failed", "err", rerr)
		}
	}
	s.jmu.Unlock()
	s.startRecorded(h.ds)
}

// startRecorded queues deliveries whose records are in the store.
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

// encodePuts encodes event-record puts as a journal record: per put, the key's length (u16), the
// key, the value's length (u32), the value.
func encodePuts(puts []store.WebhookPut) []byte {
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

func decodePuts(b []byte) ([]store.WebhookPut, error) {
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
		if len(b) < v || v == 0 {
			return nil, errors.New("truncated record")
		}
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookEvents, Key: key, Value: b[:v:v]})
		b = b[v:]
	}
	return puts, nil
}
