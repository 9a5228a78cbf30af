package tenant

import "testing"

func TestIndexResolvesEveryReferenceForm(t *testing.T) {
	acme := Tenant{ID: URNPrefix + "0123456789abcdef01234567", Name: "Acme Corp", Realm: RealmOf("Acme Corp")}
	x := NewIndex([]Tenant{acme})
	for _, ref := range []string{acme.ID, "0123456789abcdef01234567", "acme-corp", "ACME corp"} {
		if got, ok := x.Resolve(ref); !ok || got != acme {
			t.Errorf("Resolve(%q) = %+v %v", ref, got, ok)
		}
	}
	if urn, ok := x.ByRealm("acme-corp"); !ok || urn != acme.ID {
		t.Errorf("ByRealm = %q %v", urn, ok)
	}
	if _, ok := x.ByRealm("Acme-Corp"); ok {
		t.Error("ByRealm must be case-sensitive (an issuer's realm is)")
	}
	if _, ok := x.ByID("0123456789abcdef01234567"); !ok {
		t.Error("ByID")
	}
	if _, ok := x.Resolve("nobody"); ok {
		t.Error("Resolve of an unknown tenant")
	}
}
