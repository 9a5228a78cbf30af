package configsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by New for zero Config fields.
const (
	DefaultTTL           = 900 * time.Second
	DefaultTimeout       = 5 * time.Second
	DefaultMaxDocBytes   = 1 << 20
	DefaultRetryInterval = 30 * time.Second
)

// latestPath is the read endpoint of the platform:push-service document.
const latestPath = "/configuration/v2/configuration/platform/push-service/latest"

// maxParallel bounds concurrent tenant fetches within one Documents call.
const maxParallel = 8

// Config configures a Reader.
type Config struct {
	// URL is the configuration-service base URL, e.g. https://configuration-service.example
	// (required unless Locate is set).
	URL string
	// Locate, when set, returns the document endpoint (…/configuration/platform/push-service/latest,
	// no query) for each fetch instead of URL: the ADSP directory's entry for the
	// configuration-service API (engine/adsp), which may change or be unreachable at start-up.
	Locate func(ctx context.Context) (string, error)
	// Token returns a bearer token for each request; nil = no Authorization header.
	Token func(ctx context.Context) (string, error)
	// TTL of cached documents; zero = 900 s.
	TTL time.Duration
	// Timeout per request (token included); zero = 5 s.
	Timeout time.Duration
	// HTTPClient; nil = http.DefaultClient.
	HTTPClient *http.Client
	// Logger; nil = discard.
	Logger *slog.Logger
	// MaxDocBytes is the largest accepted document; zero = 1 MiB.
	MaxDocBytes int
	// RetryInterval after a failed fetch before Start's loop signals Changes; zero = 30 s (capped at TTL).
	RetryInterval time.Duration
}

// Reader fetches and caches configuration-service documents. Safe for concurrent use.
type Reader struct {
	cfg      Config
	endpoint string
	hc       *http.Client
	log      *slog.Logger

	mu       sync.Mutex
	cache    map[string]entry     // key: tenant URN, "" = core
	failed   map[string]time.Time // key -> retry due
	inflight map[string]*call
	gen      map[string]uint64 // bumped on invalidation
	coreOK   atomic.Bool

	changes chan struct{}
	kick    chan struct{}
	start   sync.Once
}

type entry struct {
	doc     []byte
	expires time.Time
}

type call struct {
	done chan struct{}
	doc  []byte
}

// New validates cfg and returns a Reader.
func New(cfg Config) (*Reader, error) {
	if cfg.Locate != nil && cfg.URL == "" {
		cfg.URL = "http://directory.invalid" // not used: Locate gives every endpoint
	}
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("configsvc: invalid configuration-service URL %q", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("configsvc: configuration-service URL %q must not have a query or fragment", cfg.URL)
	}
	if cfg.TTL < 0 || cfg.Timeout < 0 || cfg.MaxDocBytes < 0 || cfg.RetryInterval < 0 {
		return nil, errors.New("configsvc: negative TTL, Timeout, MaxDocBytes or RetryInterval")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxDocBytes == 0 {
		cfg.MaxDocBytes = DefaultMaxDocBytes
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	cfg.RetryInterval = min(cfg.RetryInterval, cfg.TTL)
	r := &Reader{
		cfg:      cfg,
		endpoint: strings.TrimRight(u.String(), "/") + latestPath,
		hc:       cfg.HTTPClient,
		log:      cfg.Logger,
		cache:    map[string]entry{},
		failed:   map[string]time.Time{},
		inflight: map[string]*call{},
		gen:      map[string]uint64{},
		changes:  make(chan struct{}, 1),
		kick:     make(chan struct{}, 1),
	}
	if r.hc == nil {
		r.hc = http.DefaultClient
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Documents fetches (with the cache) the core document and the documents of the given tenants
// (empty and duplicate URNs skipped). A failed fetch yields nil for that document; byTenant has an
// entry for every requested tenant.
func (r *Reader) Documents(ctx context.Context, tenants []string) (core []byte, byTenant map[string][]byte) {
	byTenant = make(map[string][]byte, len(tenants))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sem  = make(chan struct{}, maxParallel)
		seen = map[string]bool{}
	)
	for _, t := range tenants {
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			doc := r.get(ctx, t)
			mu.Lock()
			byTenant[t] = doc
			mu.Unlock()
		}()
	}
	core = r.get(ctx, "")
	wg.Wait()
	return core, byTenant
}

// Ready returns nil once the core document was fetched successfully at least once.
func (r *Reader) Ready() error {
	if r.coreOK.Load() {
		return nil
	}
	return errors.New("configsvc: core configuration not fetched yet")
}

// get returns the cached document for key or fetches it, joining a fetch already in flight.
func (r *Reader) get(ctx context.Context, key string) []byte {
	r.mu.Lock()
	if e, ok := r.cache[key]; ok && time.Now().Before(e.expires) {
		r.mu.Unlock()
		return e.doc
	}
	if c, ok := r.inflight[key]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.doc
		case <-ctx.Done():
			return nil
		}
	}
	c := &call{done: make(chan struct{})}
	r.inflight[key] = c
	gen := r.gen[key]
	r.mu.Unlock()

	doc, err := r.fetch(context.WithoutCancel(ctx), key)
	if err != nil {
		r.log.Warn("configuration-service fetch failed; treating as no configuration",
			"tenant", key, "error", err)
	}

	now := time.Now()
	r.mu.Lock()
	delete(r.inflight, key)
	if err != nil {
		r.failed[key] = now.Add(r.cfg.RetryInterval)
	} else {
		delete(r.failed, key)
		if r.gen[key] == gen {
			r.cache[key] = entry{doc: doc, expires: now.Add(r.cfg.TTL)}
		}
		if key == "" {
			r.coreOK.Store(true)
		}
	}
	r.mu.Unlock()
	r.wake()
	c.doc = doc
	close(c.done)
	return doc
}

// fetch performs one GET of the document for key ("" = core).
func (r *Reader) fetch(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	u := r.endpoint
	if r.cfg.Locate != nil {
		var err error
		if u, err = r.cfg.Locate(ctx); err != nil {
			return nil, fmt.Errorf("locate the configuration service: %w", err)
		}
	}
	if key != "" {
		u += "?tenantId=" + url.QueryEscape(key)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if r.cfg.Token != nil {
		tok, err := r.cfg.Token(ctx)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("unexpected status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(r.cfg.MaxDocBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > r.cfg.MaxDocBytes {
		return nil, fmt.Errorf("document larger than %d bytes", r.cfg.MaxDocBytes)
	}
	return normalise(body)
}

// normalise accepts a JSON object (empty body and null read as {}) and rejects everything else.
func normalise(body []byte) ([]byte, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || string(t) == "null" {
		return []byte("{}"), nil
	}
	if t[0] != '{' || !json.Valid(t) {
		return nil, errors.New("document is not a JSON object")
	}
	return t, nil
}
