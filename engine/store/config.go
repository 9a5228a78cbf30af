package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Revision is the latest revision of a configuration document.
type Revision struct {
	// Revision numbers stored changes: 0 for the first stored document, +1 per change.
	Revision int `json:"revision"`
	// Configuration is the compacted document (a JSON object).
	Configuration json.RawMessage `json:"configuration"`
	// LastUpdated is the time of the latest change (UTC).
	LastUpdated time.Time `json:"lastUpdated"`
	// Created is the time the document was first stored (UTC).
	Created time.Time `json:"created"`
}

func configKey(tenantURN string) string {
	if tenantURN == "" {
		return keyCore
	}
	return tenantURN
}

func getRecord(tx *bolt.Tx, key string) (*Revision, error) {
	v := tx.Bucket(bucketConfigs).Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	var r Revision
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode configuration %s: %w", key, err)
	}
	return &r, nil
}

func putRecord(tx *bolt.Tx, key string, r *Revision) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode configuration %s: %w", key, err)
	}
	if err := tx.Bucket(bucketConfigs).Put([]byte(key), v); err != nil {
		return fmt.Errorf("put configuration %s: %w", key, err)
	}
	return nil
}

// Config returns the latest revision of the core document (tenantURN "") or of a tenant's document.
// Errors: ErrNotFound for an unknown tenant, ErrNoConfig when no document was stored yet.
func (s *Store) Config(tenantURN string) (Revision, error) {
	if tenantURN != "" && !s.hasTenant(tenantURN) {
		return Revision{}, fmt.Errorf("%w: %s", ErrNotFound, tenantURN)
	}
	var rec *Revision
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		rec, err = getRecord(tx, configKey(tenantURN))
		return err
	})
	if err != nil {
		return Revision{}, fmt.Errorf("store: read configuration: %w", err)
	}
	if rec == nil {
		return Revision{}, ErrNoConfig
	}
	return *rec, nil
}

// PatchConfig applies a configuration-service PATCH body (UPDATE, REPLACE or DELETE; see the package
// documentation) to the core document (tenantURN "") or a tenant's document, validates the result and
// stores it as a new revision when it differs from the current document. It returns the resulting
// latest revision. Errors: *ValidationError (400), ErrNotFound (unknown tenant).
func (s *Store) PatchConfig(tenantURN string, req []byte) (Revision, error) {
	if tenantURN != "" && !s.hasTenant(tenantURN) {
		return Revision{}, fmt.Errorf("%w: %s", ErrNotFound, tenantURN)
	}
	op, err := parsePatch(req)
	if err != nil {
		return Revision{}, err
	}
	key := configKey(tenantURN)
	// The new revision is computed in one transaction, replicated with none held (a send to the
	// config topic, up to the publish timeout: bbolt has one writer) and committed in a second one
	// if the document did not change in between. If it did (a concurrent PATCH, or a record read
	// back from the topic), the patch is applied again to the new document: the retry's revision
	// is higher, so it wins on every instance over the record already replicated.
	for attempt := 1; ; attempt++ {
		out, changed, retry, err := s.patchOnce(key, op)
		if err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) || errors.Is(err, ErrReplication) {
				return Revision{}, err
			}
			return Revision{}, fmt.Errorf("store: patch configuration: %w", err)
		}
		if retry && attempt < maxPatchAttempts {
			continue
		}
		if retry {
			return Revision{}, fmt.Errorf("store: patch configuration: %w: the document kept changing (%d attempts)", ErrConflict, attempt)
		}
		if changed {
			s.notify()
		}
		return out, nil
	}
}

// maxPatchAttempts bounds the retries of a PATCH racing other writes of the same document.
const maxPatchAttempts = 8

// patchOnce is one attempt of PatchConfig: retry reports that the document changed between the
// read and the commit.
func (s *Store) patchOnce(key string, op *patchOp) (out Revision, changed, retry bool, err error) {
	var cur *Revision
	err = s.view(func(tx *bolt.Tx) error {
		var err error
		cur, err = getRecord(tx, key)
		if err != nil {
			return err
		}
		old := []byte("{}")
		if cur != nil {
			old = cur.Configuration
		}
		next, err := op.apply(old)
		if err != nil {
			return err
		}
		if next, err = s.checkDoc(next); err != nil {
			return err
		}
		if s.opts.ValidatePatch != nil {
			if err := s.opts.ValidatePatch(next); err != nil {
				return invalid(err.Error())
			}
		}
		if cur != nil && bytes.Equal(next, cur.Configuration) {
			out = *cur
			return nil
		}
		now := s.opts.Now().UTC()
		out = Revision{Configuration: next, Created: now, LastUpdated: now}
		if cur != nil {
			out.Revision, out.Created = cur.Revision+1, cur.Created
		}
		changed = true
		return nil
	})
	if err != nil || !changed {
		return out, false, false, err
	}
	if err := s.replicateConfig(key, &out); err != nil {
		return out, false, false, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		now, err := getRecord(tx, key)
		if err != nil {
			return err
		}
		switch {
		case sameRevision(now, cur):
			return putRecord(tx, key, &out)
		case sameRevision(now, &out):
			changed = false // this record, read back from the topic first: already stored
			return nil
		}
		retry = true
		return nil
	})
	return out, changed && !retry, retry, err
}

// sameRevision reports whether a and b are the same stored revision (both absent included).
func sameRevision(a, b *Revision) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Revision == b.Revision && bytes.Equal(a.Configuration, b.Configuration)
}

// AllConfigs returns the core document and the document of every tenant, keyed by tenant URN. Every
// known tenant has an entry, nil when it has no document yet (stream.Build then gives it a scope with
// the core streams only); core is nil only when no core document exists. The slices are fresh copies.
func (s *Store) AllConfigs() (core []byte, tenants map[string][]byte) {
	list := s.Tenants()
	tenants = make(map[string][]byte, len(list))
	for _, t := range list {
		tenants[t.ID] = nil
	}
	_ = s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConfigs).ForEach(func(k, v []byte) error {
			var r Revision
			if json.Unmarshal(v, &r) != nil {
				return nil // unreadable record: skip rather than hide every other document
			}
			if string(k) == keyCore {
				core = r.Configuration
			} else if _, known := tenants[string(k)]; known {
				tenants[string(k)] = r.Configuration
			}
			return nil
		})
	})
	return core, tenants
}

// checkDoc compacts doc, requires a JSON object and runs the schema validator.
func (s *Store) checkDoc(doc []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, invalid("configuration is not valid JSON: " + err.Error())
	}
	out := buf.Bytes()
	if len(out) == 0 || out[0] != '{' {
		return nil, invalid("configuration must be a JSON object")
	}
	if s.opts.Validate != nil {
		if err := s.opts.Validate(out); err != nil {
			return nil, invalid(err.Error())
		}
	}
	return out, nil
}
