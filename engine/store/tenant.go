package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TenantURNPrefix prefixes the 24-hex tenant id in a tenant URN.
const TenantURNPrefix = "urn:ads:platform:tenant-service:v2:/tenants/"

// CoreRealm is the realm of core (platform) users; no tenant may use it.
const CoreRealm = "core"

// Tenant is one tenant. ID is the URN, Realm the slug (lower-case name, spaces as '-').
type Tenant struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Realm string `json:"realm"`
}

type tenantRecord struct {
	Tenant
	Created time.Time `json:"created"`
}

var (
	tenantNameRE = regexp.MustCompile(`^[A-Za-z0-9 ]{1,50}$`)
	bareIDRE     = regexp.MustCompile(`^[0-9a-f]{24}$`)
)

// RealmOf returns the realm (and namespace slug) of a tenant name: lower case, spaces as '-'.
func RealmOf(name string) string { return strings.ReplaceAll(strings.ToLower(name), " ", "-") }

// foldName is the key for case-insensitive name and slug lookups.
func foldName(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", " ")) }

func bareID(urn string) string { return strings.TrimPrefix(urn, TenantURNPrefix) }

func newTenant(name string) (Tenant, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Tenant{}, fmt.Errorf("tenant id: %w", err)
	}
	return Tenant{ID: TenantURNPrefix + hex.EncodeToString(b[:]), Name: name, Realm: RealmOf(name)}, nil
}

func putTenant(tx *bolt.Tx, t Tenant) error {
	return putTenantRecord(tx, tenantRecord{Tenant: t, Created: time.Now().UTC()})
}

func putTenantRecord(tx *bolt.Tx, rec tenantRecord) error {
	t := rec.Tenant
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode tenant: %w", err)
	}
	if err := tx.Bucket(bucketTenants).Put([]byte(bareID(t.ID)), v); err != nil {
		return fmt.Errorf("put tenant %s: %w", t.Name, err)
	}
	return nil
}

func (s *Store) loadTenants() error {
	var recs []tenantRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTenants).ForEach(func(k, v []byte) error {
			var rec tenantRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode tenant %s: %w", k, err)
			}
			recs = append(recs, rec)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: load tenants: %w", err)
	}
	// bbolt iterates by key (random hex); restore creation order.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Created.Before(recs[j].Created) })
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx = *NewTenantIndex(nil)
	for _, r := range recs {
		s.index(r.Tenant)
	}
	return nil
}

// TenantAuthority is an outside owner of the tenant list (the ADSP tenant service,
// engine/adsp). When Options.Tenants is set it answers every tenant look-up of the store
// (Tenants, ResolveTenant, TenantByRealm and the check of configuration writes) and the store's
// own tenant records are neither listed nor resolved; CreateTenant fails with ErrTenantsExternal.
// Its methods may do network I/O on a miss; the store never calls them while holding a lock.
type TenantAuthority interface {
	Tenants() []Tenant
	Resolve(ref string) (Tenant, bool)
	ByRealm(realm string) (tenantURN string, ok bool)
}

// ErrTenantsExternal is CreateTenant's error when an outside TenantAuthority owns the tenants.
var ErrTenantsExternal = errors.New("store: tenants are managed by the tenant service")

// CreateTenant stores a new tenant. The name must match [A-Za-z0-9 ]{1,50} (else *ValidationError)
// and be unique ignoring case; a taken name or the reserved realm "core" gives ErrConflict.
func (s *Store) CreateTenant(name string) (Tenant, error) {
	if s.opts.Tenants != nil {
		return Tenant{}, ErrTenantsExternal
	}
	if !tenantNameRE.MatchString(name) {
		return Tenant{}, invalid("Tenant name must be 1 to 50 letters, digits or spaces.")
	}
	t, err := newTenant(name)
	if err != nil {
		return Tenant{}, fmt.Errorf("store: create tenant: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.idx.byName[foldName(name)]; taken || t.Realm == CoreRealm {
		return Tenant{}, fmt.Errorf("%w: %q", ErrConflict, name)
	}
	if _, taken := s.idx.byRealm[t.Realm]; taken {
		return Tenant{}, fmt.Errorf("%w: realm %q", ErrConflict, t.Realm)
	}
	rec := tenantRecord{Tenant: t, Created: time.Now().UTC()}
	if err := s.replicateTenant(rec); err != nil {
		return Tenant{}, err
	}
	if err := s.update(func(tx *bolt.Tx) error { return putTenantRecord(tx, rec) }); err != nil {
		return Tenant{}, fmt.Errorf("store: create tenant: %w", err)
	}
	s.index(t)
	s.notify()
	return t, nil
}

// Tenants returns every tenant in creation order (a fresh slice).
func (s *Store) Tenants() []Tenant {
	if s.opts.Tenants != nil {
		return s.opts.Tenants.Tenants()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Tenant(nil), s.idx.tenants...)
}

// ResolveTenant finds a tenant by any accepted reference (TenantIndex.Resolve).
func (s *Store) ResolveTenant(ref string) (Tenant, bool) {
	if s.opts.Tenants != nil {
		return s.opts.Tenants.Resolve(ref)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx.Resolve(ref)
}

// TenantByRealm returns the URN of the tenant whose realm is exactly realm. It reads only the
// in-memory index; it satisfies auth.TenantResolver.
func (s *Store) TenantByRealm(realm string) (tenantURN string, ok bool) {
	if s.opts.Tenants != nil {
		return s.opts.Tenants.ByRealm(realm)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx.ByRealm(realm)
}

// hasTenant reports whether urn names a known tenant.
func (s *Store) hasTenant(urn string) bool {
	if s.opts.Tenants != nil {
		t, ok := s.opts.Tenants.Resolve(urn)
		return ok && t.ID == urn
	}
	id, ok := strings.CutPrefix(urn, TenantURNPrefix)
	if !ok {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, found := s.idx.byID[id]
	return found
}
