package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rejectNoName is a tiny stand-in for the stream schema: every top-level value must have "name".
func rejectNoName(doc []byte) error {
	var m map[string]map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return fmt.Errorf("document shape: %v", err)
	}
	for k, v := range m {
		if _, ok := v["name"]; !ok {
			return fmt.Errorf("%s: name is required", k)
		}
	}
	return nil
}

func TestOpenSeedsAndPersists(t *testing.T) {
	dir := t.TempDir()
	seeded := 0
	opts := Options{Seed: func() []byte { seeded++; return []byte(`{ "core-a": {"name":"A"} }`) }}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	demo, ok := s.ResolveTenant("demo")
	if !ok || demo.Realm != "demo" || demo.Name != "demo" || !strings.HasPrefix(demo.ID, TenantURNPrefix) {
		t.Fatalf("demo tenant = %+v, %v", demo, ok)
	}
	core, err := s.Config("")
	if err != nil || string(core.Configuration) != `{"core-a":{"name":"A"}}` || core.Revision != 0 {
		t.Fatalf("core = %+v, %v", core, err)
	}
	acme, err := s.CreateTenant("Acme Corp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchConfig(acme.ID, []byte(`{"operation":"REPLACE","configuration":{"s":{"name":"S"}}}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}

	s2 := openTest(t, dir, opts)
	if seeded != 1 {
		t.Fatalf("seeded %d times", seeded)
	}
	if got := s2.Tenants(); len(got) != 2 || got[0] != demo || got[1] != acme {
		t.Fatalf("tenants after reopen = %+v", got)
	}
	rev, err := s2.Config(acme.ID)
	if err != nil || string(rev.Configuration) != `{"s":{"name":"S"}}` {
		t.Fatalf("acme config after reopen = %+v, %v", rev, err)
	}
	if urn, ok := s2.TenantByRealm("acme-corp"); !ok || urn != acme.ID {
		t.Fatalf("TenantByRealm = %q %v", urn, ok)
	}
}

func TestOpenRejectsInvalidSeed(t *testing.T) {
	_, err := Open(t.TempDir(), Options{Seed: func() []byte { return []byte(`{"x":{}}`) }, Validate: rejectNoName})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want ValidationError", err)
	}
}

func TestCreateTenant(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	if _, err := s.CreateTenant("Acme Corp"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want error
	}{
		{"acme corp", ErrConflict},
		{"ACME CORP", ErrConflict},
		{"Demo", ErrConflict},
		{"core", ErrConflict},
		{"Core", ErrConflict},
		{"", &ValidationError{}},
		{"bad-name", &ValidationError{}},
		{"émile", &ValidationError{}},
		{strings.Repeat("a", 51), &ValidationError{}},
		{strings.Repeat("a", 50), nil},
		{"Beta 2", nil},
	}
	for _, tt := range tests {
		_, err := s.CreateTenant(tt.name)
		switch want := tt.want.(type) {
		case nil:
			if err != nil {
				t.Errorf("CreateTenant(%q) = %v", tt.name, err)
			}
		case *ValidationError:
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Reason == "" {
				t.Errorf("CreateTenant(%q) = %v, want ValidationError", tt.name, err)
			}
		default:
			if !errors.Is(err, want) {
				t.Errorf("CreateTenant(%q) = %v, want %v", tt.name, err, want)
			}
		}
	}
}

func TestResolveTenant(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	acme, _ := s.CreateTenant("Acme Corp")
	hexID := strings.TrimPrefix(acme.ID, TenantURNPrefix)
	if len(hexID) != 24 {
		t.Fatalf("id %q", acme.ID)
	}
	for _, ref := range []string{acme.ID, hexID, "acme-corp", "Acme-Corp", "Acme Corp", "acme corp", "ACME CORP"} {
		if got, ok := s.ResolveTenant(ref); !ok || got != acme {
			t.Errorf("ResolveTenant(%q) = %+v, %v", ref, got, ok)
		}
	}
	for _, ref := range []string{"", "acme", "core", TenantURNPrefix + "000000000000000000000000",
		"000000000000000000000000", TenantURNPrefix + "acme-corp", "urn:ads:platform:tenant-service:v2:/tenants/"} {
		if got, ok := s.ResolveTenant(ref); ok {
			t.Errorf("ResolveTenant(%q) = %+v, want unknown", ref, got)
		}
	}
	if _, ok := s.TenantByRealm("Acme-Corp"); ok {
		t.Error("TenantByRealm must be exact")
	}
	if _, ok := s.TenantByRealm("core"); ok {
		t.Error("core is not a tenant realm")
	}
}

func TestChangesCoalesce(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	select {
	case <-s.Changes():
		t.Fatal("notification before any change")
	default:
	}
	_, _ = s.CreateTenant("One")
	_, _ = s.PatchConfig("", []byte(`{"operation":"UPDATE","update":{"a":{"name":"A"}}}`))
	<-s.Changes()
	select {
	case <-s.Changes():
		t.Fatal("notifications not coalesced")
	default:
	}
	// A no-op change fires nothing.
	_, _ = s.PatchConfig("", []byte(`{"operation":"UPDATE","update":{"a":{"name":"A"}}}`))
	select {
	case <-s.Changes():
		t.Fatal("no-op PATCH notified")
	default:
	}
}

func TestConcurrentAccess(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("Tenant %d", i)
			tn, err := s.CreateTenant(name)
			if err != nil {
				t.Errorf("create %s: %v", name, err)
				return
			}
			for j := range 10 {
				body := fmt.Sprintf(`{"operation":"UPDATE","update":{"s%d":{"name":"x"}}}`, j)
				if _, err := s.PatchConfig(tn.ID, []byte(body)); err != nil {
					t.Errorf("patch: %v", err)
				}
				if _, err := s.PatchConfig("", []byte(body)); err != nil {
					t.Errorf("patch core: %v", err)
				}
				s.ResolveTenant(name)
				s.TenantByRealm("demo")
				s.AllConfigs()
			}
		}()
	}
	// Same name from many goroutines: exactly one wins.
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateTenant("Same Name")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	wins := 0
	for err := range errs {
		if err == nil {
			wins++
		} else if !errors.Is(err, ErrConflict) {
			t.Errorf("unexpected %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creations of the same name succeeded", wins)
	}
	core, tenants := s.AllConfigs()
	if len(tenants) != 10 { // demo, 8 tenants and "Same Name"
		t.Fatalf("tenant entries = %d", len(tenants))
	}
	var m map[string]any
	if err := json.Unmarshal(core, &m); err != nil || len(m) != 10 {
		t.Fatalf("core = %s (%v)", core, err)
	}
	rev, _ := s.Config("")
	if rev.Revision != 10 { // 80 patches, 10 distinct changes
		t.Fatalf("core revision = %d", rev.Revision)
	}
}

func TestClosedStore(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := s.Ready(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ready = %v", err)
	}
	if _, err := s.Config(""); !errors.Is(err, ErrClosed) {
		t.Fatalf("Config = %v", err)
	}
	if _, err := s.CreateTenant("X"); !errors.Is(err, ErrClosed) {
		t.Fatalf("CreateTenant = %v", err)
	}
}

func TestLockedByAnotherStore(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{})
	_, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
	if err == nil {
		t.Fatal("second Open of a locked file succeeded")
	}
}
