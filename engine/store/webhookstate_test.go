package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// An endpoint key as engine/webhook builds it, with the separators a key may hold.
const epKey = "urn:ads:platform:tenant-service:v2:/tenants/0123456789abcdef01234567\nhook:a"

func wantState(t *testing.T, s *Store, key, state string, version int64, confirmed bool) {
	t.Helper()
	got, v, c, err := s.WebhookState(key)
	if err != nil {
		t.Fatal(err)
	}
	if (state == "") != (got == nil) || (got != nil && string(got) != state) || v != version || c != confirmed {
		t.Fatalf("WebhookState = %q v%d confirmed=%v, want %q v%d confirmed=%v", got, v, c, state, version, confirmed)
	}
}

func whRec(key string, version int64, state string) Record {
	if state == "" {
		return Record{Kind: KindWebhook, Key: key, Value: json.RawMessage(fmt.Sprintf(`{"version":%d,"deleted":true}`, version))}
	}
	return Record{Kind: KindWebhook, Key: key, Value: json.RawMessage(fmt.Sprintf(`{"version":%d,"state":%s}`, version, state))}
}

func TestWebhookStateStandalone(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	wantState(t, s, epKey, "", 0, true)
	drainWebhook(s)
	if err := s.PutWebhookState(epKey, 1, []byte(`{ "secret": "whsec_a" }`)); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, epKey, `{"secret":"whsec_a"}`, 1, true)
	if !drainWebhook(s) {
		t.Fatal("Put fired no change")
	}
	var wc *WebhookConflictError
	if err := s.PutWebhookState(epKey, 1, []byte(`{"secret":"whsec_b"}`)); !errors.Is(err, ErrConflict) || !errors.As(err, &wc) || wc.Current != 1 || wc.Repair != nil {
		t.Fatalf("Put of a stored version = %v", err)
	}
	if err := s.PutWebhookState(epKey, 2, []byte(`{"secret":"whsec_b"}`)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		key   string
		v     int64
		state string
	}{{"", 3, `{}`}, {epKey, 0, `{}`}, {epKey, 3, `{`}, {epKey, 3, `null`}, {epKey, 3, ``}} {
		var ve *ValidationError
		if err := s.PutWebhookState(bad.key, bad.v, []byte(bad.state)); !errors.As(err, &ve) {
			t.Fatalf("Put(%q, %d, %q) = %v, want ValidationError", bad.key, bad.v, bad.state, err)
		}
	}
	wantState(t, s, epKey, `{"secret":"whsec_b"}`, 2, true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	wantState(t, s, epKey, `{"secret":"whsec_b"}`, 2, true)

	drainWebhook(s)
	if err := s.DeleteWebhookState(epKey); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, epKey, "", 3, true)
	if !drainWebhook(s) {
		t.Fatal("Delete fired no change")
	}
	if err := s.DeleteWebhookState(epKey); err != nil || drainWebhook(s) {
		t.Fatalf("second Delete = %v (or fired a change)", err)
	}
	if err := s.DeleteWebhookState("never stored"); err != nil || drainWebhook(s) {
		t.Fatalf("Delete of an absent key = %v (or fired a change)", err)
	}
	if err := s.PutWebhookState(epKey, 3, []byte(`{"secret":"old"}`)); !errors.Is(err, ErrConflict) {
		t.Fatalf("re-create at the deletion's version = %v", err)
	}
	if err := s.PutWebhookState(epKey, 4, []byte(`{"secret":"whsec_c"}`)); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, epKey, `{"secret":"whsec_c"}`, 4, true)
	// The outbox buckets are separate and still work.
	if err := s.WriteWebhooks(WebhookBatch{Puts: []WebhookPut{{Bucket: WebhookState, Key: epKey, Value: []byte(`local`)}}}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetWebhook(WebhookState, epKey); err != nil || string(v) != "local" {
		t.Fatalf("GetWebhook = %q %v", v, err)
	}
	wantState(t, s, epKey, `{"secret":"whsec_c"}`, 4, true)
}

func TestWebhookStateReplicateFailure(t *testing.T) {
	var got []Record
	fail := false
	s := openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error {
		if fail {
			return errors.New("broker down")
		}
		got = append(got, rec)
		return nil
	}})
	wantState(t, s, epKey, "", 0, false)
	if err := s.PutWebhookState(epKey, 1, []byte(`{"secret":"whsec_a"}`)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != KindWebhook || got[0].Key != epKey || string(got[0].Value) != `{"version":1,"state":{"secret":"whsec_a"}}` {
		t.Fatalf("replicated = %+v", got)
	}
	wantState(t, s, epKey, `{"secret":"whsec_a"}`, 1, false)

	fail = true
	drainWebhook(s)
	if err := s.PutWebhookState(epKey, 2, []byte(`{"secret":"whsec_b"}`)); !errors.Is(err, ErrReplication) {
		t.Fatalf("Put with failing Replicate = %v", err)
	}
	if err := s.DeleteWebhookState(epKey); !errors.Is(err, ErrReplication) {
		t.Fatalf("Delete with failing Replicate = %v", err)
	}
	if err := s.PutWebhookState("other", 1, []byte(`{}`)); !errors.Is(err, ErrReplication) {
		t.Fatalf("Put of a new key with failing Replicate = %v", err)
	}
	wantState(t, s, epKey, `{"secret":"whsec_a"}`, 1, false)
	wantState(t, s, "other", "", 0, false)
	if drainWebhook(s) {
		t.Fatal("a failed replicate fired Changes")
	}
	// A stale version is refused before anything is replicated.
	fail = false
	if err := s.PutWebhookState(epKey, 1, []byte(`{"secret":"whsec_x"}`)); !errors.Is(err, ErrConflict) || len(got) != 1 {
		t.Fatalf("stale Put = %v, replicated %d", err, len(got))
	}
}

func TestApplyRemoteWebhookRules(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{Replicate: func(Record) error { return nil }})
	put := func(v int64, state string) {
		t.Helper()
		if err := s.PutWebhookState(epKey, v, []byte(state)); err != nil {
			t.Fatal(err)
		}
	}
	put(1, `"L1"`)
	drainWebhook(s)
	steps := []struct {
		name      string
		before    func()
		rec       Record
		conflict  int64 // the version of the repair record, 0 = accepted
		state     string
		version   int64
		confirmed bool
		changed   bool
	}{
		{name: "remote first of v1 replaces the unconfirmed local v1", rec: whRec(epKey, 1, `"R1"`), state: `"R1"`, version: 1, confirmed: true, changed: true},
		{name: "own v1 read back later loses", rec: whRec(epKey, 1, `"L1"`), conflict: 1, state: `"R1"`, version: 1, confirmed: true},
		{name: "winner again is a no-op", rec: whRec(epKey, 1, ` "R1" `), state: `"R1"`, version: 1, confirmed: true},
		{name: "higher version replaces a confirmed one", rec: whRec(epKey, 3, `"R3"`), state: `"R3"`, version: 3, confirmed: true, changed: true},
		{name: "lower version after a higher one is refused", rec: whRec(epKey, 2, `"R2"`), conflict: 3, state: `"R3"`, version: 3, confirmed: true},
		{name: "own write read back confirms it", before: func() { put(4, `"L4"`) }, rec: whRec(epKey, 4, `"L4"`), state: `"L4"`, version: 4, confirmed: true, changed: true},
		{name: "higher remote replaces an unconfirmed local write", before: func() { put(5, `"L5"`) }, rec: whRec(epKey, 6, `"R6"`), state: `"R6"`, version: 6, confirmed: true, changed: true},
		{name: "a lower remote leaves a newer unconfirmed local write", before: func() { put(8, `"L8"`) }, rec: whRec(epKey, 7, `"R7"`), state: `"L8"`, version: 8, confirmed: false, changed: false},
		{name: "deletion", rec: whRec(epKey, 9, ``), state: ``, version: 9, confirmed: true, changed: true},
		{name: "deletion twice", rec: whRec(epKey, 9, ``), state: ``, version: 9, confirmed: true},
		{name: "re-creation above the deletion", rec: whRec(epKey, 10, `{"s":1}`), state: `{"s":1}`, version: 10, confirmed: true, changed: true},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		drainWebhook(s)
		err := s.ApplyRemote(st.rec)
		var wc *WebhookConflictError
		switch {
		case st.conflict == 0 && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.conflict != 0 && (!errors.Is(err, ErrConflict) || !errors.As(err, &wc) || wc.Repair == nil):
			t.Fatalf("%s: err = %v, want a WebhookConflictError with a repair", st.name, err)
		case st.conflict != 0:
			var r webhookRecord
			if err := json.Unmarshal(wc.Repair.Value, &r); err != nil || r.Version != st.conflict || string(r.State) != st.state ||
				wc.Repair.Kind != KindWebhook || wc.Repair.Key != epKey {
				t.Fatalf("%s: repair = %+v %s", st.name, wc.Repair, wc.Repair.Value)
			}
		}
		wantState(t, s, epKey, st.state, st.version, st.confirmed)
		if drainWebhook(s) != st.changed {
			t.Fatalf("%s: changed = %v", st.name, !st.changed)
		}
	}
	for _, bad := range []Record{
		{Kind: KindWebhook, Key: "", Value: json.RawMessage(`{"version":1,"state":{}}`)},
		{Kind: KindWebhook, Key: epKey, Value: json.RawMessage(`{"version":0,"state":{}}`)},
		{Kind: KindWebhook, Key: epKey, Value: json.RawMessage(`{"version":11}`)},
		{Kind: KindWebhook, Key: epKey, Value: json.RawMessage(`{"version":11,"state":null}`)},
		{Kind: KindWebhook, Key: epKey, Value: json.RawMessage(`{"version":11,"deleted":true,"state":{}}`)},
		{Kind: KindWebhook, Key: epKey, Value: json.RawMessage(`[1]`)},
		{Kind: KindWebhook, Key: epKey, Value: json.RawMessage(`{"version":"11","state":{}}`)},
	} {
		var ve *ValidationError
		if err := s.ApplyRemote(bad); !errors.As(err, &ve) {
			t.Fatalf("ApplyRemote(%s) = %v, want ValidationError", bad.Value, err)
		}
	}
	wantState(t, s, epKey, `{"s":1}`, 10, true)
}

// topic is a stand-in for the compacted config topic: an ordered log shared by stores.
type topic struct {
	mu  sync.Mutex
	log []Record
}

func (tp *topic) replicate(rec Record) error {
	tp.mu.Lock()
	tp.log = append(tp.log, rec)
	tp.mu.Unlock()
	return nil
}

// deliver applies log[from:] to s in order and then, as the replicator does, republishes the repair
// of every key whose last record was refused; it returns the end it reached.
func (tp *topic) deliver(t *testing.T, s *Store, from int) int {
	t.Helper()
	repairs := map[string]Record{}
	for {
		tp.mu.Lock()
		if from >= len(tp.log) {
			tp.mu.Unlock()
			break
		}
		rec := tp.log[from]
		tp.mu.Unlock()
		from++
		var wc *WebhookConflictError
		err := s.ApplyRemote(rec)
		switch {
		case errors.As(err, &wc):
			repairs[rec.Key] = *wc.Repair
		case err != nil:
			t.Fatal(err)
		default:
			delete(repairs, rec.Key)
		}
	}
	for _, r := range repairs {
		_ = tp.replicate(r)
	}
	return from
}

// compacted keeps the last record of each key, in the order of those last records.
func (tp *topic) compacted() []Record {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	last := map[string]int{}
	for i, r := range tp.log {
		last[r.Kind+":"+r.Key] = i
	}
	var out []Record
	for i, r := range tp.log {
		if last[r.Kind+":"+r.Key] == i {
			out = append(out, r)
		}
	}
	return out
}

func TestWebhookStateConcurrentCreateConverges(t *testing.T) {
	tp := &topic{}
	dirA := t.TempDir()
	a := openTest(t, dirA, Options{Replicate: tp.replicate})
	b := openTest(t, t.TempDir(), Options{Replicate: tp.replicate})
	var wg sync.WaitGroup
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.PutWebhookState(epKey, 1, fmt.Appendf(nil, `{"secret":"whsec_%d"}`, i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(tp.log) != 2 {
		t.Fatalf("topic holds %d records", len(tp.log))
	}
	var first webhookRecord
	if err := json.Unmarshal(tp.log[0].Value, &first); err != nil {
		t.Fatal(err)
	}
	winner := string(first.State)
	endA := tp.deliver(t, a, 0)
	tp.deliver(t, b, 0)
	tp.deliver(t, a, endA) // the repair B published
	for _, s := range []*Store{a, b} {
		wantState(t, s, epKey, winner, 1, true)
	}
	// Compaction keeps each key's last record: thanks to the repairs it is the winner, so an
	// instance starting from the compacted topic agrees.
	c := openTest(t, t.TempDir(), Options{Replicate: tp.replicate})
	for _, r := range tp.compacted() {
		if r.Kind == KindWebhook {
			if err := c.ApplyRemote(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantState(t, c, epKey, winner, 1, true)

	// Records lists the state (without the local confirmed flag), deletions included.
	if err := a.PutWebhookState("gone", 1, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteWebhookState("gone"); err != nil {
		t.Fatal(err)
	}
	recs, err := a.Records()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.Kind == KindWebhook {
			got = append(got, r.Key+"="+string(r.Value))
		}
	}
	want := []string{`gone={"version":2,"deleted":true}`, epKey + `={"version":1,"state":` + winner + `}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Records = %q, want %q", got, want)
	}

	// After a restart the confirmation is remembered, and replaying the topic changes nothing.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = openTest(t, dirA, Options{Replicate: tp.replicate})
	wantState(t, a, epKey, winner, 1, true)
	n := len(tp.log)
	if end := tp.deliver(t, a, 0); end != n || len(tp.log) != n {
		t.Fatalf("replay republished: log %d -> %d", n, len(tp.log))
	}
	wantState(t, a, epKey, winner, 1, true)
	wantState(t, a, "gone", "", 2, true)
}

// On a restart the topic is read again from the beginning and is the truth: the first record of the
// stored version replaces a different state confirmed in an earlier run (which only a topic
// compacted before its repair could cause), and older records leave a newer state alone.
func TestWebhookStateReplayFollowsTopic(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{Replicate: func(Record) error { return nil }})
	for _, r := range []Record{whRec(epKey, 1, `"X"`), whRec("newer", 1, `"N1"`), whRec("newer", 3, `"N3"`)} {
		if err := s.ApplyRemote(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{Replicate: func(Record) error { return nil }})
	drainWebhook(s)
	for _, r := range []Record{whRec("newer", 1, `"N1"`), whRec("newer", 2, `"N2"`)} {
		if err := s.ApplyRemote(r); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, s, "newer", `"N3"`, 3, true)
	if drainWebhook(s) {
		t.Fatal("replaying older records fired a change")
	}
	if err := s.ApplyRemote(whRec(epKey, 1, `"Y"`)); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, epKey, `"Y"`, 1, true)
	if !drainWebhook(s) {
		t.Fatal("no change fired")
	}
	if err := s.ApplyRemote(whRec(epKey, 1, `"X"`)); !errors.Is(err, ErrConflict) {
		t.Fatalf("the earlier run's state, now second in topic order = %v", err)
	}
}
