package store

import "strings"

// TenantIndex finds tenants by every reference form pushgate accepts (contract.md "Tenants").
// It is the one tenant index of the server: the Store keeps one over its records, and a worker
// process keeps one over the parent's latest snapshot (engine/cluster). It is not safe for
// concurrent writes; its owner guards it.
type TenantIndex struct {
	tenants []Tenant       // creation order
	byID    map[string]int // bare 24-hex id
	byName  map[string]int // folded name (== realm with '-' as ' ')
	byRealm map[string]int
}

// NewTenantIndex indexes tenants (in creation order).
func NewTenantIndex(tenants []Tenant) *TenantIndex {
	x := &TenantIndex{byID: map[string]int{}, byName: map[string]int{}, byRealm: map[string]int{}}
	for _, t := range tenants {
		x.add(t)
	}
	return x
}

func (x *TenantIndex) add(t Tenant) {
	i := len(x.tenants)
	x.tenants = append(x.tenants, t)
	x.byID[bareID(t.ID)] = i
	x.byName[foldName(t.Name)] = i
	x.byRealm[t.Realm] = i
}

// Tenants returns the indexed tenants in creation order (shared: do not modify).
func (x *TenantIndex) Tenants() []Tenant { return x.tenants }

// Resolve finds a tenant by the URN, the bare 24-hex id, the realm (slug) or the name, the last
// two ignoring case ("-" and " " are equivalent). An id match wins over a name that happens to
// look like an id.
func (x *TenantIndex) Resolve(ref string) (Tenant, bool) {
	if ref == "" || x == nil {
		return Tenant{}, false
	}
	if id, ok := strings.CutPrefix(ref, TenantURNPrefix); ok {
		i, found := x.byID[id]
		if !found {
			return Tenant{}, false
		}
		return x.tenants[i], true
	}
	if bareIDRE.MatchString(ref) {
		if i, found := x.byID[ref]; found {
			return x.tenants[i], true
		}
	}
	if i, found := x.byName[foldName(ref)]; found {
		return x.tenants[i], true
	}
	return Tenant{}, false
}

// ByRealm returns the URN of the tenant whose realm is exactly realm (an issuer's realm is
// case-sensitive).
func (x *TenantIndex) ByRealm(realm string) (tenantURN string, ok bool) {
	if x == nil {
		return "", false
	}
	i, found := x.byRealm[realm]
	if !found {
		return "", false
	}
	return x.tenants[i].ID, true
}
