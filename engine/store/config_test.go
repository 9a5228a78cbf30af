package store

import (
	"errors"
	"testing"
	"time"
)

func TestPatchConfigSemantics(t *testing.T) {
	const base = `{"a":{"id":"a","name":"A","description":"d","events":[{"namespace":"n","name":"x"}]},"roles":["r1"],"n":1,"webhooks":{"h1":{"id":"h1"},"h2":{"id":"h2"}}}`
	tests := []struct {
		name, body, want string
	}{
		{"update shallow-merges objects", `{"operation":"UPDATE","update":{"a":{"name":"A2","events":[]}}}`,
			`{"a":{"id":"a","name":"A2","description":"d","events":[]},"roles":["r1"],"n":1,"webhooks":{"h1":{"id":"h1"},"h2":{"id":"h2"}}}`},
		{"update concatenates string arrays", `{"operation":"UPDATE","update":{"roles":["r2","r3"]}}`,
			`{"a":{"id":"a","name":"A","description":"d","events":[{"namespace":"n","name":"x"}]},"roles":["r1","r2","r3"],"n":1,"webhooks":{"h1":{"id":"h1"},"h2":{"id":"h2"}}}`},
		{"update replaces other values and appends new keys", `{"operation":"UPDATE","update":{"n":{"k":1},"b":{"id":"b","name":"B"}}}`,
			`{"a":{"id":"a","name":"A","description":"d","events":[{"namespace":"n","name":"x"}]},"roles":["r1"],"n":{"k":1},"webhooks":{"h1":{"id":"h1"},"h2":{"id":"h2"}},"b":{"id":"b","name":"B"}}`},
		{"update replaces an array of non-strings", `{"operation":"UPDATE","update":{"roles":[1]}}`,
			`{"a":{"id":"a","name":"A","description":"d","events":[{"namespace":"n","name":"x"}]},"roles":[1],"n":1,"webhooks":{"h1":{"id":"h1"},"h2":{"id":"h2"}}}`},
		{"replace", `{"operation":"REPLACE","configuration":{ "z" : {"id":"z", "name":"Z"} }}`,
			`{"z":{"id":"z","name":"Z"}}`},
		{"delete key", `{"operation":"DELETE","property":"a"}`,
			`{"roles":["r1"],"n":1,"webhooks":{"h1":{"id":"h1"},"h2":{"id":"h2"}}}`},
		{"delete bracket path", `{"operation":"DELETE","property":"webhooks[h1]"}`,
			`{"a":{"id":"a","name":"A","description":"d","events":[{"namespace":"n","name":"x"}]},"roles":["r1"],"n":1,"webhooks":{"h2":{"id":"h2"}}}`},
		{"delete dotted path", `{"operation":"DELETE","property":"webhooks.h2"}`,
			`{"a":{"id":"a","name":"A","description":"d","events":[{"namespace":"n","name":"x"}]},"roles":["r1"],"n":1,"webhooks":{"h1":{"id":"h1"}}}`},
		{"delete missing is a no-op", `{"operation":"DELETE","property":"nope"}`, base},
		{"delete through a scalar is a no-op", `{"operation":"DELETE","property":"n.x"}`, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, t.TempDir(), Options{Seed: func() []byte { return []byte(base) }})
			rev, err := s.PatchConfig("", []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(rev.Configuration) != tt.want {
				t.Fatalf("got  %s\nwant %s", rev.Configuration, tt.want)
			}
			wantRev := 1
			if tt.want == base {
				wantRev = 0
			}
			if rev.Revision != wantRev {
				t.Fatalf("revision = %d, want %d", rev.Revision, wantRev)
			}
			got, _ := s.Config("")
			if string(got.Configuration) != tt.want {
				t.Fatalf("stored %s", got.Configuration)
			}
		})
	}
}

func TestPatchConfigErrors(t *testing.T) {
	tests := []struct{ name, body string }{
		{"malformed json", `{"operation":`},
		{"not an object", `[1]`},
		{"missing operation", `{}`},
		{"unknown operation", `{"operation":"MERGE","update":{}}`},
		{"lower-case operation", `{"operation":"update","update":{}}`},
		{"update without object", `{"operation":"UPDATE","update":[1]}`},
		{"update missing", `{"operation":"UPDATE"}`},
		{"replace with string", `{"operation":"REPLACE","configuration":"x"}`},
		{"delete without property", `{"operation":"DELETE"}`},
		{"delete with number", `{"operation":"DELETE","property":3}`},
		{"schema rejects", `{"operation":"UPDATE","update":{"b":{"id":"b"}}}`},
		{"schema rejects replace", `{"operation":"REPLACE","configuration":{"b":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, t.TempDir(), Options{Validate: rejectNoName,
				Seed: func() []byte { return []byte(`{"a":{"name":"A"}}`) }})
			_, err := s.PatchConfig("", []byte(tt.body))
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Reason == "" {
				t.Fatalf("err = %v, want ValidationError", err)
			}
			rev, _ := s.Config("")
			if string(rev.Configuration) != `{"a":{"name":"A"}}` || rev.Revision != 0 {
				t.Fatalf("document changed: %+v", rev)
			}
			select {
			case <-s.Changes():
				t.Fatal("failed PATCH notified")
			default:
			}
		})
	}
}

func TestTenantConfig(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openTest(t, t.TempDir(), Options{Now: clock})
	acme, _ := s.CreateTenant("Acme")
	if _, err := s.Config(acme.ID); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Config before write = %v", err)
	}
	unknown := TenantURNPrefix + "000000000000000000000000"
	if _, err := s.Config(unknown); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Config(unknown) = %v", err)
	}
	if _, err := s.PatchConfig(unknown, []byte(`{"operation":"REPLACE","configuration":{}}`)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("PatchConfig(unknown) = %v", err)
	}
	r0, err := s.PatchConfig(acme.ID, []byte(`{"operation":"UPDATE","update":{"s":{"name":"S"}}}`))
	if err != nil || r0.Revision != 0 || !r0.Created.Equal(now) || !r0.LastUpdated.Equal(now) {
		t.Fatalf("first write = %+v, %v", r0, err)
	}
	now = now.Add(time.Hour)
	r1, err := s.PatchConfig(acme.ID, []byte(`{"operation":"DELETE","property":"s"}`))
	if err != nil || r1.Revision != 1 || !r1.Created.Equal(r0.Created) || !r1.LastUpdated.Equal(now) || string(r1.Configuration) != `{}` {
		t.Fatalf("second write = %+v, %v", r1, err)
	}
	core, tenants := s.AllConfigs()
	demo, _ := s.ResolveTenant("demo")
	if doc, ok := tenants[demo.ID]; !ok || doc != nil {
		t.Fatalf("demo without document: %q, %v", doc, ok)
	}
	if string(core) != `{}` || string(tenants[acme.ID]) != `{}` || len(tenants) != 2 {
		t.Fatalf("AllConfigs = %s %v", core, tenants)
	}
}

func TestSplitPath(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a.b", []string{"a", "b"}},
		{"webhooks[h1]", []string{"webhooks", "h1"}},
		{`webhooks["h 1"].x`, []string{"webhooks", "h 1", "x"}},
		{"a[0][1]", []string{"a", "0", "1"}},
	}
	for _, tt := range tests {
		got := splitPath(tt.in)
		if len(got) != len(tt.want) {
			t.Errorf("splitPath(%q) = %q", tt.in, got)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("splitPath(%q) = %q", tt.in, got)
			}
		}
	}
}
