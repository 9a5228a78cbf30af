package adsp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/adsp/adsptest"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// Tenants come from the tenant service's list: every reference form resolves, the UUID realm maps
// to the tenant (ignoring case, as the SDK); a miss asks the service once, within the rate limit;
// a tenant event makes the list be read again.
func TestTenantsFromTenantService(t *testing.T) {
	pf := adsptest.Start(t)
	a := pf.AddTenant("Child Services")
	ts := tenantsOf(t, pf, 1)
	for _, ref := range []string{a.ID, strings.TrimPrefix(a.ID, "urn:ads:platform:tenant-service:v2:/tenants/"), "child-services", "CHILD SERVICES"} {
		if got, ok := ts.Resolve(ref); !ok || got.ID != a.ID || got.Realm != a.Realm {
			t.Fatalf("Resolve(%q) = %+v %v", ref, got, ok)
		}
	}
	if urn, ok := ts.ByRealm(strings.ToUpper(a.Realm)); !ok || urn != a.ID {
		t.Fatalf("ByRealm = %q %v", urn, ok)
	}
	if _, ok := ts.ByRealm("core"); ok {
		t.Fatal("the core realm resolved to a tenant")
	}

	// A tenant created after the list was read: one look-up by realm finds it.
	b := pf.AddTenant("Second")
	before := pf.TenantRequests()
	if urn, ok := ts.ByRealm(b.Realm); !ok || urn != b.ID {
		t.Fatalf("ByRealm of a new tenant = %q %v", urn, ok)
	}
	if pf.TenantRequests() != before+1 {
		t.Fatalf("tenant requests %d, want %d", pf.TenantRequests(), before+1)
	}
	// The bucket (burst 1, next token in ~17 min) is empty: unknown realms cost no request.
	for range 20 {
		if _, ok := ts.ByRealm("unknown-realm"); ok {
			t.Fatal("unknown realm resolved")
		}
	}
	if pf.TenantRequests() != before+1 {
		t.Fatalf("misses past the rate limit made %d requests", pf.TenantRequests()-before-1)
	}

	// tenant-created reads the list again (no miss needed).
	c := pf.AddTenant("Third")
	ts.Observe("tenant-service", "tenant-created")
	waitfor.True(t, 5*time.Second, "the condition", func() bool {
		for _, x := range ts.Tenants() {
			if x.ID == c.ID {
				return true
			}
		}
		return false
	})
}
