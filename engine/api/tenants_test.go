package api

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pushgate/pushgate/engine/store"
)

func TestCreateTenant(t *testing.T) {
	f := newFixture(t)
	r := f.do("POST", "/tenant/v2/tenants", "core-admin", `{"name":"New Co 2"}`)
	if r.status != 201 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	m := r.json(t)
	if !regexp.MustCompile(`^urn:ads:platform:tenant-service:v2:/tenants/[0-9a-f]{24}$`).MatchString(m["id"].(string)) ||
		m["name"] != "New Co 2" || m["realm"] != "new-co-2" || len(m) != 3 {
		t.Fatalf("body %s", r.body)
	}
	if _, ok := f.st.ResolveTenant("new-co-2"); !ok {
		t.Fatal("tenant not stored")
	}
	tests := []struct {
		name, token, body string
		status            int
		msg               string
	}{
		{"duplicate ignoring case", "core-admin", `{"name":"ACME CORP"}`, 409, "already exists"},
		{"reserved core realm", "core-admin", `{"name":"Core"}`, 409, "already exists"},
		{"invalid characters", "core-admin", `{"name":"Acme-Corp"}`, 400, "letters, digits or spaces"},
		{"too long", "core-admin", `{"name":"` + strings.Repeat("x", 51) + `"}`, 400, "1 to 50"},
		{"empty name", "core-admin", `{"name":""}`, 400, "1 to 50"},
		{"missing name", "core-admin", `{}`, 400, "required"},
		{"numeric name", "core-admin", `{"name":5}`, 400, "string 'name'"},
		{"malformed", "core-admin", `{"name":`, 400, "JSON object"},
		{"tenant token with the role", "acme-admin", `{"name":"Other"}`, 403, "core token"},
		{"core token without the role", "core-none", `{"name":"Other"}`, 403, "core token"},
		{"oversized", "core-admin", `{"name":"` + strings.Repeat("x", maxSmallBody) + `"}`, 413, "1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.do("POST", "/tenant/v2/tenants", tt.token, tt.body), tt.status, tt.msg)
		})
	}
}

func TestListTenants(t *testing.T) {
	f := newFixture(t)
	names := func(r response) []string {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("status %d %s", r.status, r.body)
		}
		m := r.json(t)
		var out []string
		for _, x := range m["results"].([]any) {
			out = append(out, x.(map[string]any)["name"].(string))
		}
		if size := m["page"].(map[string]any)["size"].(float64); int(size) != len(out) {
			t.Fatalf("page.size %v for %d results", size, len(out))
		}
		return out
	}
	hexID := strings.TrimPrefix(f.acme.ID, store.TenantURNPrefix)
	tests := []struct {
		name, token, query, want string
	}{
		{"core sees all", "core-admin", "", "demo,Acme Corp,Beta"},
		{"core without roles sees all", "core-none", "", "demo,Acme Corp,Beta"},
		{"tenant sees own", "acme-user", "", "Acme Corp"},
		{"name ignoring case", "core-admin", "?name=acme%20corp", "Acme Corp"},
		{"slug", "core-admin", "?name=acme-corp", "Acme Corp"},
		{"bare id", "core-admin", "?name=" + hexID, "Acme Corp"},
		{"urn", "core-admin", "?name=" + f.acme.ID, "Acme Corp"},
		{"unknown name", "core-admin", "?name=nobody", ""},
		{"realm", "core-admin", "?realm=beta", "Beta"},
		{"tenant asks for another tenant", "acme-user", "?name=Beta", ""},
		{"tenant asks for itself", "acme-user", "?name=ACME-CORP", "Acme Corp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(names(f.do("GET", "/tenant/v2/tenants"+tt.query, tt.token, "")), ",")
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	r := f.do("GET", "/tenant/v2/tenants?name=Beta", "beta-admin", "")
	if want := `{"results":[{"id":"` + f.beta.ID + `","name":"Beta","realm":"beta"}],"page":{"size":1}}`; string(r.body) != want {
		t.Fatalf("body %s", r.body)
	}
}
