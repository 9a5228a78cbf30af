package tenant

import "strings"

// Index finds tenants by every reference form pushgate accepts (contract.md "Tenants").
// It is the one tenant index of the server: the Store keeps one over its records, and a worker
// process keeps one over the parent's latest snapshot (engine/cluster). It is not safe for
// concurrent writes; its owner guards it.
type Index struct {
	tenants []Tenant       // creation order
	byID    map[string]int // bare 24-hex id
	byName  map[string]int // folded name (== realm with '-' as ' ')
	byRealm map[string]int
}

// NewIndex indexes tenants (in creation order).
func NewIndex(tenants []Tenant) *Index {
	x := &Index{byID: map[string]int{}, byName: map[string]int{}, byRealm: map[string]int{}}
	for _, t := range tenants {
		x.Add(t)
	}
	return x
}

// Add indexes t after the tenants already indexed; the owner guards the index.
func (x *Index) Add(t Tenant) {
	i := len(x.tenants)
	x.tenants = append(x.tenants, t)
	x.byID[BareID(t.ID)] = i
	x.byName[FoldName(t.Name)] = i
	x.byRealm[t.Realm] = i
}

// Tenants returns the indexed tenants in creation order (shared: do not modify).
func (x *Index) Tenants() []Tenant { return x.tenants }

// Resolve finds a tenant by the URN, the bare 24-hex id, the realm (slug) or the name, the last
// two ignoring case ("-" and " " are equivalent). An id match wins over a name that happens to
// look like an id.
func (x *Index) Resolve(ref string) (Tenant, bool) {
	if ref == "" || x == nil {
		return Tenant{}, false
	}
	if id, ok := strings.CutPrefix(ref, URNPrefix); ok {
		i, found := x.byID[id]
		if !found {
			return Tenant{}, false
		}
		return x.tenants[i], true
	}
	if bareIDPattern.MatchString(ref) {
		if i, found := x.byID[ref]; found {
			return x.tenants[i], true
		}
	}
	if i, found := x.byName[FoldName(ref)]; found {
		return x.tenants[i], true
	}
	return Tenant{}, false
}

// ByRealm returns the URN of the tenant whose realm is exactly realm (an issuer's realm is
// case-sensitive).
func (x *Index) ByRealm(realm string) (tenantURN string, ok bool) {
	if x == nil {
		return "", false
	}
	i, found := x.byRealm[realm]
	if !found {
		return "", false
	}
	return x.tenants[i].ID, true
}

// ByID returns the tenant whose bare 24-hex id is id.
func (x *Index) ByID(id string) (Tenant, bool) {
	i, found := x.byID[id]
	if !found {
		return Tenant{}, false
	}
	return x.tenants[i], true
}

// ByName returns the tenant whose name or realm folds to name's (case and "-"/" " ignored).
func (x *Index) ByName(name string) (Tenant, bool) {
	i, found := x.byName[FoldName(name)]
	if !found {
		return Tenant{}, false
	}
	return x.tenants[i], true
}

// Realm returns the tenant whose realm is exactly realm.
func (x *Index) Realm(realm string) (Tenant, bool) {
	i, found := x.byRealm[realm]
	if !found {
		return Tenant{}, false
	}
	return x.tenants[i], true
}
