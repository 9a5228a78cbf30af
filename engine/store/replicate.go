package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/pushgate/pushgate/engine/tenant"
)

// Record kinds.
const (
	// KindTenant records carry a tenant: Key is the tenant URN, Value {"id","name","realm","created"}.
	KindTenant = "tenant"
	// KindConfig records carry the latest revision of a document: Key is "core" or a tenant URN,
	// Value a Revision ({"revision","configuration","lastUpdated","created"}).
	KindConfig = "config"
	// KindWebhook records carry a webhook endpoint's state: Key is engine/webhook's endpoint key
	// (any bytes), Value {"version":N,"state":<JSON>} or {"version":N,"deleted":true}
	// (webhookstate.go).
	KindWebhook = "webhook"
	// KindOrder records carry an operator order (engine/operator: a disconnect or a revocation):
	// Key is the order id, Value the order's JSON, opaque here. They are not stored: every
	// instance applies them as it reads them (orders.go).
	KindOrder = "order"
)

// Record is one replicated change: a tenant creation or a configuration revision. Records are
// self-contained (the whole tenant or the whole document), so the newest record per (Kind, Key)
// is enough to rebuild a store: a compacted topic keyed by Kind+":"+Key holds the whole state.
type Record struct {
	Kind  string          `json:"kind"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// Replicates reports whether writes are replicated (Options.Replicate set: the Kafka config
// topic), so that a caller can keep a replicated write, which may wait for a broker, off the
// paths that must stay fast.
func (s *Store) Replicates() bool { return s.opts.Replicate != nil }

func (s *Store) replicateTenant(rec tenantRecord) error {
	if s.opts.Replicate == nil {
		return nil
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: encode tenant: %w", err)
	}
	if err := s.opts.Replicate(Record{Kind: KindTenant, Key: rec.ID, Value: v}); err != nil {
		return fmt.Errorf("%w: %w", ErrReplication, err)
	}
	return nil
}

func (s *Store) replicateConfig(key string, r *Revision) error {
	if s.opts.Replicate == nil {
		return nil
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: encode configuration: %w", err)
	}
	if err := s.opts.Replicate(Record{Kind: KindConfig, Key: key, Value: v}); err != nil {
		return fmt.Errorf("%w: %w", ErrReplication, err)
	}
	return nil
}

// ApplyRemote applies a record received from another instance (or this instance's own record read
// back). It never calls Options.Replicate and fires Changes() only when something changed.
//
// Config records: a lower revision than the stored one is ignored; the same revision with the same
// document is a no-op (idempotent); a higher revision — or the same revision with a different
// document, i.e. two concurrent PATCHes, where the later record in topic order wins — replaces it.
// Records for tenants not known yet are stored and become visible when the tenant arrives.
//
// Tenant records: a known id is a no-op. A different id with the same name or realm is a conflict:
// a local tenant not yet confirmed by a remote record (for example the "demo" tenant each instance
// seeds on its first start) is replaced by the remote one; a confirmed tenant keeps its place and
// ApplyRemote returns an error wrapping ErrConflict (the first record in topic order wins).
//
// Webhook records: see webhookstate.go (higher version wins, the first record of a version wins, a
// refused record gives a *WebhookConflictError carrying the winner to republish).
//
// Malformed records give a *ValidationError; the caller logs and skips them.
func (s *Store) ApplyRemote(rec Record) error {
	switch rec.Kind {
	case KindTenant:
		return s.applyTenant(rec.Key, rec.Value)
	case KindConfig:
		return s.applyConfig(rec.Key, rec.Value)
	case KindWebhook:
		return s.applyWebhook(rec.Key, rec.Value)
	case KindOrder:
		s.orders.fire(rec.Value)
		return nil
	default:
		return invalid(fmt.Sprintf("unknown record kind %q", rec.Kind))
	}
}

func (s *Store) applyTenant(key string, value []byte) error {
	var tr tenantRecord
	if err := json.Unmarshal(value, &tr); err != nil {
		return invalid("tenant record is not valid JSON")
	}
	id, ok := strings.CutPrefix(tr.ID, TenantURNPrefix)
	if !ok || !tenant.ValidBareID(id) || tr.ID != key {
		return invalid(fmt.Sprintf("tenant record has a bad id %q", tr.ID))
	}
	if !tenantNameRE.MatchString(tr.Name) || tr.Realm != RealmOf(tr.Name) || tr.Realm == CoreRealm {
		return invalid(fmt.Sprintf("tenant record has a bad name %q", tr.Name))
	}
	tr.Created = tr.Created.UTC()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.confirmed == nil {
		s.confirmed = map[string]struct{}{}
	}
	if _, known := s.idx.ByID(id); known {
		s.confirmed[id] = struct{}{}
		return nil
	}
	losers := map[string]struct{}{}
	byName, nameTaken := s.idx.ByName(tr.Name)
	byRealm, realmTaken := s.idx.Realm(tr.Realm)
	for _, o := range []struct {
		t     Tenant
		taken bool
	}{{byName, nameTaken}, {byRealm, realmTaken}} {
		if !o.taken {
			continue
		}
		other := bareID(o.t.ID)
		if _, conf := s.confirmed[other]; conf {
			return fmt.Errorf("%w: remote tenant %q (%s) conflicts with %s", ErrConflict, tr.Name, tr.ID, o.t.ID)
		}
		losers[other] = struct{}{}
	}
	err := s.update(func(tx *bolt.Tx) error {
		for other := range losers {
			if err := tx.Bucket(bucketTenants).Delete([]byte(other)); err != nil {
				return err
			}
		}
		return putTenantRecord(tx, tr)
	})
	if err != nil {
		return fmt.Errorf("store: apply tenant: %w", err)
	}
	if len(losers) > 0 {
		keep := s.idx.Tenants()
		s.idx = *NewTenantIndex(nil)
		for _, t := range keep {
			if _, lost := losers[bareID(t.ID)]; !lost {
				s.index(t)
			}
		}
	}
	s.index(tr.Tenant)
	s.confirmed[id] = struct{}{}
	s.notify()
	return nil
}

func (s *Store) applyConfig(key string, value []byte) error {
	if key != keyCore {
		id, ok := strings.CutPrefix(key, TenantURNPrefix)
		if !ok || !tenant.ValidBareID(id) {
			return invalid(fmt.Sprintf("config record has a bad key %q", key))
		}
	}
	var r Revision
	if err := json.Unmarshal(value, &r); err != nil || r.Revision < 0 {
		return invalid("config record is not a valid revision")
	}
	doc, err := s.checkDoc(r.Configuration)
	if err != nil {
		return err
	}
	r.Configuration, r.Created, r.LastUpdated = doc, r.Created.UTC(), r.LastUpdated.UTC()
	changed := false
	err = s.update(func(tx *bolt.Tx) error {
		cur, err := getRecord(tx, key)
		if err != nil {
			return err
		}
		if cur != nil && (r.Revision < cur.Revision || (r.Revision == cur.Revision && bytes.Equal(doc, cur.Configuration))) {
			return nil
		}
		changed = true
		return putRecord(tx, key, &r)
	})
	if err != nil {
		return fmt.Errorf("store: apply configuration: %w", err)
	}
	if changed {
		s.notify()
	}
	return nil
}

// Records returns the whole local state as records: every tenant (creation order), then the core
// document and the document of every known tenant, then every webhook endpoint state (key order,
// confirmed or not, deletions included). A replicator uses it to publish local state the
// shared topic does not have yet (for example after the first start of an instance).
func (s *Store) Records() ([]Record, error) {
	var out []Record
	s.mu.RLock()
	tenants := append([]Tenant(nil), s.idx.Tenants()...)
	s.mu.RUnlock()
	known := map[string]bool{keyCore: true}
	err := s.view(func(tx *bolt.Tx) error {
		tb := tx.Bucket(bucketTenants)
		for _, t := range tenants {
			v := tb.Get([]byte(bareID(t.ID)))
			if v == nil {
				continue
			}
			known[t.ID] = true
			out = append(out, Record{Kind: KindTenant, Key: t.ID, Value: append(json.RawMessage(nil), v...)})
		}
		err := tx.Bucket(bucketConfigs).ForEach(func(k, v []byte) error {
			if known[string(k)] {
				out = append(out, Record{Kind: KindConfig, Key: string(k), Value: append(json.RawMessage(nil), v...)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		out, err = webhookRecords(tx, out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: read records: %w", err)
	}
	return out, nil
}
