package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func drain(s *Store) bool {
	select {
	case <-s.Changes():
		return true
	default:
		return false
	}
}

func TestReplicateCalledBeforeCommit(t *testing.T) {
	var got []Record
	fail := false
	s := openTest(t, t.TempDir(), Options{Replicate: func(rec Record) error {
		if fail {
			return errors.New("broker down")
		}
		got = append(got, rec)
		return nil
	}})
	if len(got) != 0 {
		t.Fatalf("seed was replicated: %+v", got)
	}
	acme, err := s.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchConfig(acme.ID, []byte(`{"operation":"REPLACE","configuration":{"a":{"name":"A"}}}`)); err != nil {
		t.Fatal(err)
	}
	// A no-op PATCH replicates nothing.
	if _, err := s.PatchConfig(acme.ID, []byte(`{"operation":"REPLACE","configuration":{"a":{"name":"A"}}}`)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != KindTenant || got[0].Key != acme.ID || got[1].Kind != KindConfig || got[1].Key != acme.ID {
		t.Fatalf("replicated = %+v", got)
	}
	var rev Revision
	if err := json.Unmarshal(got[1].Value, &rev); err != nil || string(rev.Configuration) != `{"a":{"name":"A"}}` {
		t.Fatalf("config value = %s (%v)", got[1].Value, err)
	}

	fail = true
	drain(s)
	if _, err := s.CreateTenant("Beta"); !errors.Is(err, ErrReplication) {
		t.Fatalf("CreateTenant with failing Replicate = %v", err)
	}
	if _, ok := s.ResolveTenant("Beta"); ok {
		t.Fatal("tenant stored although Replicate failed")
	}
	if _, err := s.PatchConfig(acme.ID, []byte(`{"operation":"REPLACE","configuration":{"b":{"name":"B"}}}`)); !errors.Is(err, ErrReplication) {
		t.Fatalf("PatchConfig with failing Replicate = %v", err)
	}
	cur, err := s.Config(acme.ID)
	if err != nil || string(cur.Configuration) != `{"a":{"name":"A"}}` || cur.Revision != 0 {
		t.Fatalf("config after failed replicate = %+v %v", cur, err)
	}
	if drain(s) {
		t.Fatal("a failed replicate fired Changes")
	}
}

func TestApplyRemoteConfig(t *testing.T) {
	src := openTest(t, t.TempDir(), Options{})
	dst := openTest(t, t.TempDir(), Options{})
	acme, err := src.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := src.Records()
	if err != nil {
		t.Fatal(err)
	}
	drain(dst)
	for _, r := range recs {
		if r.Kind == KindTenant && r.Key != acme.ID {
			continue // each store keeps its own demo tenant in this test
		}
		if err := dst.ApplyRemote(r); err != nil {
			t.Fatalf("ApplyRemote(%s %s): %v", r.Kind, r.Key, err)
		}
	}
	if got, ok := dst.ResolveTenant("acme"); !ok || got != acme {
		t.Fatalf("tenant not applied: %+v", got)
	}
	if !drain(dst) {
		t.Fatal("ApplyRemote fired no change")
	}
	rec := func(rev int, doc string) Record {
		v, _ := json.Marshal(Revision{Revision: rev, Configuration: json.RawMessage(doc)})
		return Record{Kind: KindConfig, Key: acme.ID, Value: v}
	}
	steps := []struct {
		rec     Record
		want    string
		changed bool
	}{
		{rec(1, `{"x":{"name":"X"}}`), `{"x":{"name":"X"}}`, true},
		{rec(1, `{"x":{"name":"X"}}`), `{"x":{"name":"X"}}`, false}, // idempotent
		{rec(0, `{"old":{"name":"O"}}`), `{"x":{"name":"X"}}`, false},
		{rec(3, `{ "y": {"name":"Y"} }`), `{"y":{"name":"Y"}}`, true},
		{rec(3, `{"z":{"name":"Z"}}`), `{"z":{"name":"Z"}}`, true}, // concurrent: later in topic order wins
	}
	for i, st := range steps {
		if err := dst.ApplyRemote(st.rec); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		cur, err := dst.Config(acme.ID)
		if err != nil || string(cur.Configuration) != st.want {
			t.Fatalf("step %d: config = %s %v, want %s", i, cur.Configuration, err, st.want)
		}
		if drain(dst) != st.changed {
			t.Fatalf("step %d: changed = %v", i, !st.changed)
		}
	}
	for _, bad := range []Record{
		{Kind: "nope", Key: "core", Value: json.RawMessage(`{}`)},
		{Kind: KindConfig, Key: "not-a-urn", Value: rec(9, `{}`).Value},
		{Kind: KindConfig, Key: "core", Value: json.RawMessage(`{"revision":9,"configuration":[1]}`)},
		{Kind: KindTenant, Key: "x", Value: json.RawMessage(`{"id":"x","name":"a","realm":"a"}`)},
	} {
		var ve *ValidationError
		if err := dst.ApplyRemote(bad); !errors.As(err, &ve) {
			t.Fatalf("ApplyRemote(%+v) = %v, want ValidationError", bad, err)
		}
	}
}

func TestApplyRemoteTenantConflict(t *testing.T) {
	a := openTest(t, t.TempDir(), Options{})
	b := openTest(t, t.TempDir(), Options{})
	demoA, _ := a.ResolveTenant("demo")
	demoB, _ := b.ResolveTenant("demo")
	if demoA.ID == demoB.ID {
		t.Fatal("seeded demo ids collide")
	}
	recA := tenantRec(t, a, demoA.ID)
	recB := tenantRec(t, b, demoB.ID)
	// B's unconfirmed local demo loses to the first remote record.
	if err := b.ApplyRemote(recA); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.ResolveTenant("demo"); got.ID != demoA.ID {
		t.Fatalf("demo on B = %s, want %s", got.ID, demoA.ID)
	}
	if urn, _ := b.TenantByRealm("demo"); urn != demoA.ID || len(b.Tenants()) != 1 {
		t.Fatalf("index after replace: %s %+v", urn, b.Tenants())
	}
	// A confirmed tenant keeps its place.
	if err := b.ApplyRemote(recB); !errors.Is(err, ErrConflict) {
		t.Fatalf("second demo = %v, want ErrConflict", err)
	}
	if err := b.ApplyRemote(recA); err != nil {
		t.Fatalf("same record twice: %v", err)
	}
	// The replacement survives a reopen.
	dir := t.TempDir()
	c := openTest(t, dir, Options{})
	if err := c.ApplyRemote(recA); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	c2 := openTest(t, dir, Options{})
	if got, _ := c2.ResolveTenant("demo"); got.ID != demoA.ID || len(c2.Tenants()) != 1 {
		t.Fatalf("after reopen: %+v", c2.Tenants())
	}
}

func tenantRec(t *testing.T, s *Store, id string) Record {
	t.Helper()
	recs, err := s.Records()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind == KindTenant && r.Key == id {
			return r
		}
	}
	t.Fatalf("no record for %s", id)
	return Record{}
}

// TestValidatePatchOnlyForLocalWrites: Options.ValidatePatch (the webhook SSRF guard's save-time
// check) refuses a PATCH, but never a document replicated from another instance or the seed — a
// policy of this instance must not split the instances' view of the configuration.
func TestValidatePatchOnlyForLocalWrites(t *testing.T) {
	refuse := func(doc []byte) error {
		if strings.Contains(string(doc), "forbidden") {
			return errors.New("webhooks.a.url: refused")
		}
		return nil
	}
	st := openTest(t, t.TempDir(), Options{ValidatePatch: refuse, Seed: func() []byte { return []byte(`{"seeded":{"name":"forbidden"}}`) }})
	if _, err := st.Config(""); err != nil {
		t.Fatalf("the seed was refused: %v", err)
	}
	acme, err := st.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if _, err := st.PatchConfig(acme.ID, []byte(`{"operation":"UPDATE","update":{"a":{"name":"forbidden"}}}`)); !errors.As(err, &ve) || !strings.Contains(err.Error(), "webhooks.a.url") {
		t.Fatalf("PATCH = %v, want a ValidationError naming the field", err)
	}
	v, _ := json.Marshal(Revision{Revision: 1, Configuration: json.RawMessage(`{"a":{"name":"forbidden"}}`)})
	if err := st.ApplyRemote(Record{Kind: KindConfig, Key: acme.ID, Value: v}); err != nil {
		t.Fatalf("a replicated document was refused by the local policy: %v", err)
	}
}
