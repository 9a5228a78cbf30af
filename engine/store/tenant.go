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

	"github.com/pushgate/pushgate/engine/tenant"
)

// TenantURNPrefix prefixes the 24-hex tenant id in a tenant URN (tenant.URNPrefix).
const TenantURNPrefix = tenant.URNPrefix

// CoreRealm is the realm of core (platform) users; no tenant may use it.
const CoreRealm = tenant.CoreRealm

// Tenant is one tenant (engine/tenant, where the edge finds it without the store).
type Tenant = tenant.Tenant

// TenantIndex finds tenants by every reference form (tenant.Index).
type TenantIndex = tenant.Index

// NewTenantIndex indexes tenants in creation order (tenant.NewIndex).
func NewTenantIndex(tenants []Tenant) *TenantIndex { return tenant.NewIndex(tenants) }

type tenantRecord struct {
	Tenant
	Created time.Time `json:"created"`
}

var tenantNameRE = regexp.MustCompile(`^[A-Za-z0-9 ]{1,50}$`)

// RealmOf returns the realm (and namespace slug) of a tenant name (tenant.RealmOf).
func RealmOf(name string) string { return tenant.RealmOf(name) }

func bareID(urn string) string { return tenant.BareID(urn) }

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
	// The name is checked, the record replicated with no lock held (a send to the config topic,
	// up to the publish timeout: the tenant index is read on every subscribe), then checked again
	// and committed under the index lock. A tenant of the same name created in between wins
	// here; on the topic the first record in topic order wins everywhere (ApplyRemote).
	if err := s.tenantNameFree(t); err != nil {
		return Tenant{}, err
	}
	rec := tenantRecord{Tenant: t, Created: time.Now().UTC()}
	if err := s.replicateTenant(rec); err != nil {
		return Tenant{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, read := s.idx.ByID(bareID(t.ID)); read {
		return t, nil // its record was read back from the topic first: stored and indexed
	}
	if err := s.tenantNameFreeLocked(t); err != nil {
		return Tenant{}, err
	}
	if err := s.update(func(tx *bolt.Tx) error { return putTenantRecord(tx, rec) }); err != nil {
		return Tenant{}, fmt.Errorf("store: create tenant: %w", err)
	}
	s.index(t)
	s.notify()
	return t, nil
}

func (s *Store) tenantNameFree(t Tenant) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tenantNameFreeLocked(t)
}

// tenantNameFreeLocked reports ErrConflict when t's name or realm is taken or reserved; s.mu held.
func (s *Store) tenantNameFreeLocked(t Tenant) error {
	if _, taken := s.idx.ByName(t.Name); taken || t.Realm == CoreRealm {
		return fmt.Errorf("%w: %q", ErrConflict, t.Name)
	}
	if _, taken := s.idx.Realm(t.Realm); taken {
		return fmt.Errorf("%w: realm %q", ErrConflict, t.Realm)
	}
	return nil
}

// Tenants returns every tenant in creation order (a fresh slice).
func (s *Store) Tenants() []Tenant {
	if s.opts.Tenants != nil {
		return s.opts.Tenants.Tenants()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Tenant(nil), s.idx.Tenants()...)
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
	_, found := s.idx.ByID(id)
	return found
}
