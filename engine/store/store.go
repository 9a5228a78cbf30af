package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the name of the database file inside the data directory.
const FileName = "pushgate.db"

var (
	bucketMeta    = []byte("meta")
	bucketTenants = []byte("tenants") // bare hex id -> Tenant JSON
	bucketConfigs = []byte("configs") // "core" or tenant URN -> record JSON
	keySeeded     = []byte("seeded")
	keyCore       = "core"
)

// Options configures Open. Every field is optional.
type Options struct {
	// Validate checks a whole configuration document (a JSON object) against the stream schema; a
	// non-nil error is reported to the caller as a *ValidationError with err.Error() as the reason.
	// Nil accepts every JSON object.
	Validate func(doc []byte) error
	// ValidatePatch, when set, also checks a document written by PatchConfig (a local write through
	// the API), after Validate; not replicated records nor the seed, so a policy of this instance
	// (the webhook SSRF guard's save-time check) never refuses a document another instance — or an
	// earlier version — stored. Its error is reported like Validate's.
	ValidatePatch func(doc []byte) error
	// Seed returns the core document stored on first start. Nil means an empty object "{}".
	Seed func() (coreDoc []byte)
	// Now is the clock for revision timestamps. Nil means time.Now.
	Now func() time.Time
	// LockTimeout bounds the wait for the file lock held by another process. Zero means 1s.
	LockTimeout time.Duration
	// Replicate, when set, is called with every tenant creation, every new configuration
	// revision and every webhook endpoint state write (PutWebhookState, DeleteWebhookState; outside any
	// transaction, webhookstate.go) BEFORE it is committed locally (see replicate.go and the package documentation). A
	// non-nil error fails the API call (wrapped in ErrReplication) and leaves the store unchanged.
	// The seed of the first start is not replicated. Nil means a standalone store.
	Replicate func(rec Record) error
	// Tenants, when set, owns the tenant list (see TenantAuthority); nil = the store's records.
	Tenants TenantAuthority
}

// Store is the embedded tenant and configuration store. Create it with Open.
type Store struct {
	db   *bolt.DB
	opts Options

	mu  sync.RWMutex // guards the tenant index; held across tenant writes
	idx TenantIndex

	changes        chan struct{} // documents and tenants changed (revision docRev)
	docRev         atomic.Uint64 // documents-and-tenants revision, +1 per change (Revision)
	webhookChanges chan struct{} // replicated webhook endpoint state changed
	closed         atomic.Bool

	// confirmed holds the bare ids of tenants seen through ApplyRemote in this process (guarded by
	// mu); a local tenant not in it loses a name conflict against a remote record.
	confirmed map[string]struct{}

	wh webhookTopicView // replicated webhook endpoint state, see webhookstate.go

	orders orderHooks // operator orders, see orders.go
}

// Open opens (creating if needed) <dataDir>/pushgate.db. On first start it stores the tenant "demo"
// and the core document from opts.Seed.
func Open(dataDir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	// The free-page list is not written on every commit (it is rebuilt by a scan when the file is
	// opened) and is kept as a map: with the webhook outbox's churn the file holds thousands of free
	// pages, and writing and merging that list dominated each small commit (BENCHMARKS.md §2d).
	// Durability is unchanged: the data pages and the meta page are still fsynced.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, opts: opts, changes: make(chan struct{}, 1), webhookChanges: make(chan struct{}, 1)}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTenants, bucketConfigs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		if tx.Bucket(bucketMeta).Get(keySeeded) != nil {
			return nil
		}
		return s.seed(tx)
	})
	if err != nil {
		return fmt.Errorf("store: initialise: %w", err)
	}
	return s.loadTenants()
}

func (s *Store) seed(tx *bolt.Tx) error {
	demo, err := newTenant("demo")
	if err != nil {
		return err
	}
	if err := putTenant(tx, demo); err != nil {
		return err
	}
	doc := []byte("{}")
	if s.opts.Seed != nil {
		doc = s.opts.Seed()
	}
	doc, err = s.checkDoc(doc)
	if err != nil {
		return fmt.Errorf("seed core document: %w", err)
	}
	now := s.opts.Now().UTC()
	if err := putRecord(tx, keyCore, &Revision{Configuration: doc, Created: now, LastUpdated: now}); err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keySeeded, []byte(now.Format(time.RFC3339)))
}

// index adds t to the in-memory index; s.mu must be held for writing.
func (s *Store) index(t Tenant) { s.idx.Add(t) }

// Changes returns the documents-changed channel (buffered 1, coalescing, never closed). A value is
// sent after every tenant creation and every stored configuration change, local or replicated,
// once Revision counts it; a receiver re-reads AllConfigs / Tenants after each receive. Webhook
// endpoint state has its own channel (WebhookStateChanges): it is not an input of the registry.
func (s *Store) Changes() <-chan struct{} { return s.changes }

// Revision counts the changes of documents and tenants since Open (+1 per tenant creation or
// stored configuration change). It is raised before Changes fires, so a consumer that read
// Revision before re-reading the documents has applied at least that revision: a writer waits
// for its revision to be live (read-your-writes) rather than rebuilding itself.
func (s *Store) Revision() uint64 { return s.docRev.Load() }

// WebhookStateChanges returns the webhook-state-changed channel (buffered 1, coalescing, never
// closed): a value is sent after every change of a replicated webhook endpoint state (including
// its confirmation); a receiver re-reads WebhookState after each receive.
func (s *Store) WebhookStateChanges() <-chan struct{} { return s.webhookChanges }

// notify reports a change of documents or tenants.
func (s *Store) notify() {
	s.docRev.Add(1)
	signal(s.changes)
}

func (s *Store) notifyWebhookState() { signal(s.webhookChanges) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Ready reports nil while the store is open, ErrClosed afterwards.
func (s *Store) Ready() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Close closes the database file. Further calls return ErrClosed (reads of the in-memory tenant
// index keep working).
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.db.Update(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
