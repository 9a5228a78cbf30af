package adsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/engine/store"
)

// Tenant-service defaults.
const (
	// DefaultTenantTTL: the tenant list is read again after this long without a tenant event
	// (the SDK keeps realm→tenant for 1 h in the push-service's token strategy).
	DefaultTenantTTL = time.Hour
	// DefaultTenantRetry is the first wait after a failed read of the list (doubling up to the TTL).
	DefaultTenantRetry = 5 * time.Second
	// DefaultMissRate and DefaultMissBurst bound the single look-ups made on a miss (a token from
	// an unknown realm, an unknown namespace): a token bucket of this rate per second and burst.
	DefaultMissRate  = 5
	DefaultMissBurst = 10
	// tenantLookupTimeout bounds one single look-up made on a miss.
	tenantLookupTimeout = 5 * time.Second
)

// tenantEvents are the tenant service's domain events that change the list
// (apps/tenant-management-api/src/tenant/events.ts; namespace = the service, tenant-service).
var tenantEvents = map[string]bool{"tenant-created": true, "tenant-deleted": true, "tenant-name-updated": true}

// TenantsConfig configures Tenants.
type TenantsConfig struct {
	// Directory resolves TenantServiceAPI (required).
	Directory *Directory
	// Token is the service-account token (Bearer on every request); nil = none.
	Token func(ctx context.Context) (string, error)
	// TTL, RetryInterval, MissRate, MissBurst: zero = the defaults above.
	TTL           time.Duration
	RetryInterval time.Duration
	MissRate      float64
	MissBurst     int
	// HTTPClient; nil = a client with a 10 s timeout. Logger; nil = discard.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Tenants is the ADSP tenant service as pushgate's tenant authority (store.TenantAuthority).
// Look-ups read an in-memory index of the last list; a miss makes one rate-limited request
// (by id, name or realm, as the SDK's getTenant, getTenantByName, getTenantByRealm do).
type Tenants struct {
	cfg TenantsConfig
	hc  *http.Client
	log *slog.Logger

	mu     sync.RWMutex
	idx    *store.TenantIndex
	realms map[string]string // lower-cased realm → URN (the SDK compares realms ignoring case)

	bucketMu sync.Mutex // guards the miss token bucket
	tokens   float64
	refilled time.Time

	loaded  atomic.Bool
	lastErr atomic.Pointer[string]
	// counters for Stats
	asked, limited, listErrors atomic.Uint64
	kick                       chan struct{}
	changes                    chan struct{}
	start                      sync.Once
}

var _ store.TenantAuthority = (*Tenants)(nil)

// NewTenants validates cfg; Start reads the list.
func NewTenants(cfg TenantsConfig) (*Tenants, error) {
	if cfg.Directory == nil || !cfg.Directory.Has(TenantServiceAPI) {
		return nil, errors.New("adsp: the tenant service needs --directory-url or --tenant-service-url")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTenantTTL
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultTenantRetry
	}
	if cfg.MissRate <= 0 {
		cfg.MissRate = DefaultMissRate
	}
	if cfg.MissBurst <= 0 {
		cfg.MissBurst = DefaultMissBurst
	}
	t := &Tenants{
		cfg: cfg, hc: httpClientOrDefault(cfg.HTTPClient), log: loggerOrDiscard(cfg.Logger),
		idx: store.NewTenantIndex(nil), realms: map[string]string{},
		tokens: float64(cfg.MissBurst), refilled: time.Now(),
		kick: make(chan struct{}, 1), changes: make(chan struct{}, 1),
	}
	return t, nil
}

// TenantStats are the tenant service client's counters.
type TenantStats struct {
	Tenants    int    // tenants in the current list
	Asked      uint64 // single look-ups made on a miss
	Limited    uint64 // misses answered "unknown" without a look-up (rate limit)
	ListErrors uint64 // failed reads of the whole list
}

// Stats returns the counters.
func (t *Tenants) Stats() TenantStats {
	t.mu.RLock()
	n := len(t.idx.Tenants())
	t.mu.RUnlock()
	return TenantStats{Tenants: n, Asked: t.asked.Load(), Limited: t.limited.Load(), ListErrors: t.listErrors.Load()}
}

// Changes fires (coalesced, buffered 1) when the tenant list changed.
func (t *Tenants) Changes() <-chan struct{} { return t.changes }

// Ready returns nil once the list was read successfully.
func (t *Tenants) Ready() error {
	if t.loaded.Load() {
		return nil
	}
	if e := t.lastErr.Load(); e != nil {
		return fmt.Errorf("tenant service: tenants not read yet: %s", *e)
	}
	return errors.New("tenant service: tenants not read yet")
}

// Tenants implements store.TenantAuthority (the last list, in the tenant service's order).
func (t *Tenants) Tenants() []store.Tenant {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]store.Tenant(nil), t.idx.Tenants()...)
}

// Resolve implements store.TenantAuthority: URN, bare id, name or slug; a miss asks the tenant
// service once (rate limited).
func (t *Tenants) Resolve(ref string) (store.Tenant, bool) {
	if ref == "" {
		return store.Tenant{}, false
	}
	t.mu.RLock()
	tn, ok := t.idx.Resolve(ref)
	t.mu.RUnlock()
	if ok || !t.allowMiss() {
		return tn, ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), tenantLookupTimeout)
	defer cancel()
	var found []store.Tenant
	var err error
	if id, isID := bareTenantID(ref); isID {
		var one store.Tenant
		if one, err = t.getOne(ctx, id); err == nil && one.ID != "" {
			found = []store.Tenant{one}
		}
	} else if strings.HasPrefix(ref, store.TenantURNPrefix) {
		return store.Tenant{}, false // a tenant URN with a malformed id
	} else {
		// A namespace slug names the tenant with '-' for ' ' (the push-service does the same).
		found, err = t.query(ctx, url.Values{"name": {strings.ReplaceAll(ref, "-", " ")}})
	}
	if err != nil {
		t.log.Warn("tenant service look-up failed", "ref", ref, "error", err)
		return store.Tenant{}, false
	}
	t.add(found)
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.idx.Resolve(ref)
}

// ByRealm implements store.TenantAuthority and auth.TenantResolver (realms compared ignoring
// case, as the SDK does); a miss asks the tenant service once (rate limited).
func (t *Tenants) ByRealm(realm string) (string, bool) {
	key := strings.ToLower(realm)
	if key == "" || key == store.CoreRealm {
		return "", false
	}
	t.mu.RLock()
	urn, ok := t.realms[key]
	t.mu.RUnlock()
	if ok || !t.allowMiss() {
		return urn, ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), tenantLookupTimeout)
	defer cancel()
	found, err := t.query(ctx, url.Values{"realm": {realm}})
	if err != nil {
		t.log.Warn("tenant service look-up failed", "realm", realm, "error", err)
		return "", false
	}
	t.add(found)
	t.mu.RLock()
	defer t.mu.RUnlock()
	urn, ok = t.realms[key]
	return urn, ok
}

// TenantByRealm is ByRealm under auth.TenantResolver's name.
func (t *Tenants) TenantByRealm(realm string) (string, bool) { return t.ByRealm(realm) }

// Observe is fed every domain event; a tenant-service event that changes tenants makes the list
// be read again at once.
func (t *Tenants) Observe(namespace, name string) {
	if namespace == "tenant-service" && tenantEvents[name] {
		t.log.Debug("tenant event: reading the tenant list again", "event", name)
		t.Refresh()
	}
}

// Refresh asks the loop to read the list again now (coalesced).
func (t *Tenants) Refresh() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Start runs the refresh loop until ctx is done: the list is read now, after every TTL, on
// Refresh, and after a failure with a doubling backoff. Later calls are no-ops.
func (t *Tenants) Start(ctx context.Context) {
	t.start.Do(func() { go t.loop(ctx) })
}

func (t *Tenants) loop(ctx context.Context) {
	backoff := t.cfg.RetryInterval
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-t.kick:
		}
		wait := t.cfg.TTL
		if err := t.readAll(ctx); err != nil {
			t.listErrors.Add(1)
			msg := err.Error()
			t.lastErr.Store(&msg)
			t.log.Error("tenant service: cannot read the tenant list", "error", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, t.cfg.TTL)
		} else {
			backoff = t.cfg.RetryInterval
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// readAll replaces the index with the full list.
func (t *Tenants) readAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, err := t.query(ctx, nil)
	if err != nil {
		return err
	}
	idx, realms := index(list)
	t.mu.Lock()
	changed := !sameTenants(t.idx.Tenants(), idx.Tenants())
	t.idx, t.realms = idx, realms
	t.mu.Unlock()
	if !t.loaded.Swap(true) || changed {
		t.log.Info("tenant list read from the tenant service", "tenants", len(list))
		t.notify()
	}
	return nil
}

// add merges single look-up results into the index.
func (t *Tenants) add(found []store.Tenant) {
	if len(found) == 0 {
		return
	}
	t.mu.Lock()
	byID := map[string]bool{}
	for _, f := range found {
		byID[f.ID] = true
	}
	var list []store.Tenant
	for _, old := range t.idx.Tenants() {
		if !byID[old.ID] {
			list = append(list, old)
		}
	}
	t.idx, t.realms = index(append(list, found...))
	t.mu.Unlock()
	t.notify()
}

func index(list []store.Tenant) (*store.TenantIndex, map[string]string) {
	realms := make(map[string]string, len(list))
	for _, tn := range list {
		realms[strings.ToLower(tn.Realm)] = tn.ID
	}
	return store.NewTenantIndex(list), realms
}

func sameTenants(a, b []store.Tenant) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (t *Tenants) notify() {
	select {
	case t.changes <- struct{}{}:
	default:
	}
}

// allowMiss takes one token from the miss bucket.
func (t *Tenants) allowMiss() bool {
	t.bucketMu.Lock()
	defer t.bucketMu.Unlock()
	now := time.Now()
	t.tokens = min(float64(t.cfg.MissBurst), t.tokens+now.Sub(t.refilled).Seconds()*t.cfg.MissRate)
	t.refilled = now
	if t.tokens < 1 {
		t.limited.Add(1)
		return false
	}
	t.tokens--
	t.asked.Add(1)
	return true
}

// tenantJSON is one tenant as the tenant service answers it
// (apps/tenant-management-api/src/tenant/router/mappers.ts mapTenant: id URN, realm, name,
// status, adminEmail).
type tenantJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Realm string `json:"realm"`
}

// query GETs <api>/tenants with params (tenantV2.ts getTenants: {"results": [...], "page": {...}}).
func (t *Tenants) query(ctx context.Context, params url.Values) ([]store.Tenant, error) {
	u, err := t.cfg.Directory.Resolve(ctx, TenantServiceAPI, "v2/tenants")
	if err != nil {
		return nil, err
	}
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	body, err := t.get(ctx, u)
	if err != nil {
		return nil, err
	}
	var v struct {
		Results []tenantJSON `json:"results"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("tenant list is not {\"results\": [...]}: %w", err)
	}
	out := make([]store.Tenant, 0, len(v.Results))
	for _, r := range v.Results {
		if tn, ok := t.convert(r); ok {
			out = append(out, tn)
		}
	}
	return out, nil
}

// getOne GETs <api>/tenants/<id> (tenantV2.ts getTenant); a 404 is "no such tenant".
func (t *Tenants) getOne(ctx context.Context, id string) (store.Tenant, error) {
	u, err := t.cfg.Directory.Resolve(ctx, TenantServiceAPI, "v2/tenants/"+url.PathEscape(id))
	if err != nil {
		return store.Tenant{}, err
	}
	body, err := t.get(ctx, u)
	if isNotFound(err) {
		return store.Tenant{}, nil
	}
	if err != nil {
		return store.Tenant{}, err
	}
	var r tenantJSON
	if err := json.Unmarshal(body, &r); err != nil {
		return store.Tenant{}, fmt.Errorf("tenant is not a JSON object: %w", err)
	}
	tn, _ := t.convert(r)
	return tn, nil
}

func (t *Tenants) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if t.cfg.Token != nil {
		tok, err := t.cfg.Token(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return do(t.hc, req)
}

// convert checks one tenant: a tenant URN with a bare id, a name, and a realm other than core
// (a tenant claiming the core realm would turn platform tokens into its own).
func (t *Tenants) convert(r tenantJSON) (store.Tenant, bool) {
	_, okID := bareTenantID(r.ID)
	if !okID || !strings.HasPrefix(r.ID, store.TenantURNPrefix) || r.Name == "" || r.Realm == "" ||
		strings.EqualFold(r.Realm, store.CoreRealm) {
		t.log.Warn("tenant service: tenant skipped (bad id, name or realm)", "id", r.ID, "name", r.Name, "realm", r.Realm)
		return store.Tenant{}, false
	}
	return store.Tenant{ID: r.ID, Name: r.Name, Realm: r.Realm}, true
}

// bareTenantID returns the bare id of a tenant URN or of a bare id (24 hex digits).
func bareTenantID(ref string) (string, bool) {
	id := strings.TrimPrefix(ref, store.TenantURNPrefix)
	if len(id) != 24 {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return id, true
}
