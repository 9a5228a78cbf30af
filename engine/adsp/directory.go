package adsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Service URNs pushgate resolves (the API entries the SDK asks the directory for).
const (
	TenantServiceAPI        = "urn:ads:platform:tenant-service:v2"
	ConfigurationServiceAPI = "urn:ads:platform:configuration-service:v2"
	EventServiceAPI         = "urn:ads:platform:event-service:v1"
)

// DefaultDirectoryTTL is how long directory entries are kept before they are read again.
const DefaultDirectoryTTL = 10 * time.Minute

// directoryPath lists the platform namespace (serviceDirectory.ts retrieveDirectory).
const directoryPath = "/directory/v2/namespaces/platform/entries"

// maxResponseBytes bounds every JSON answer read from an ADSP service.
const maxResponseBytes = 4 << 20

// DirectoryConfig configures a Directory.
type DirectoryConfig struct {
	// URL of the directory service (DIRECTORY_URL); empty = only Pinned entries.
	URL string
	// Pinned maps a URN to a fixed URL (the --tenant-service-url style flags); pinned entries are
	// never looked up.
	Pinned map[string]string
	// TTL of the fetched entries; zero = DefaultDirectoryTTL.
	TTL time.Duration
	// HTTPClient; nil = a client with a 10 s timeout.
	HTTPClient *http.Client
}

// Directory resolves ADSP service URNs to URLs. Safe for concurrent use.
type Directory struct {
	cfg DirectoryConfig
	hc  *http.Client

	mu       sync.Mutex
	entries  map[string]*url.URL
	expires  time.Time
	inflight chan struct{} // closed when the running fetch ends; nil when none runs
	lastErr  error
}

// NewDirectory validates cfg.
func NewDirectory(cfg DirectoryConfig) (*Directory, error) {
	if cfg.URL != "" {
		if err := checkURL(cfg.URL); err != nil {
			return nil, fmt.Errorf("adsp: directory URL: %w", err)
		}
	}
	for urn, u := range cfg.Pinned {
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("adsp: URL of %s: %w", urn, err)
		}
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultDirectoryTTL
	}
	return &Directory{cfg: cfg, hc: httpClientOrDefault(cfg.HTTPClient)}, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL, got %q", s)
	}
	return nil
}

// Has reports whether urn can be resolved at all: it is pinned or a directory is configured.
func (d *Directory) Has(urn string) bool {
	_, pinned := d.cfg.Pinned[urn]
	return pinned || d.cfg.URL != ""
}

// URL returns the URL of urn: the pinned one, else the directory's entry (read again when the
// cache expired or the URN is missing from it; concurrent callers share one fetch).
func (d *Directory) URL(ctx context.Context, urn string) (*url.URL, error) {
	if p, ok := d.cfg.Pinned[urn]; ok {
		return url.Parse(p)
	}
	if d.cfg.URL == "" {
		return nil, fmt.Errorf("adsp: no URL for %s (no directory and no flag)", urn)
	}
	for attempt := 0; ; attempt++ {
		d.mu.Lock()
		if u, ok := d.entries[urn]; ok && time.Now().Before(d.expires) {
			d.mu.Unlock()
			return u, nil
		}
		if attempt > 0 { // the fetch we waited for did not bring it
			if u, ok := d.entries[urn]; ok { // the directory is down: expired entries still serve
				d.mu.Unlock()
				return u, nil
			}
			err := d.lastErr
			d.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("adsp: directory: %w", err)
			}
			return nil, fmt.Errorf("adsp: directory has no entry %s", urn)
		}
		wait := d.inflight
		if wait == nil {
			wait = make(chan struct{})
			d.inflight = wait
			d.mu.Unlock()
			entries, err := d.fetch(ctx)
			d.mu.Lock()
			if err == nil {
				d.entries, d.expires = entries, time.Now().Add(d.cfg.TTL)
			}
			d.lastErr, d.inflight = err, nil
			close(wait)
			d.mu.Unlock()
			continue
		}
		d.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fetch reads the platform namespace's entries: [{"urn": "...", "url": "..."}]. Entries whose URL
// does not parse are skipped, as the SDK does.
func (d *Directory) fetch(ctx context.Context) (map[string]*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(d.cfg.URL, "/")+directoryPath, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	body, err := do(d.hc, req)
	if err != nil {
		return nil, err
	}
	var list []struct {
		URN string `json:"urn"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("entries are not a JSON array of {urn, url}: %w", err)
	}
	out := make(map[string]*url.URL, len(list))
	for _, e := range list {
		if u, err := url.Parse(e.URL); err == nil && u.Scheme != "" && u.Host != "" {
			out[e.URN] = u
		}
	}
	return out, nil
}

// Resolve returns the URL of rel under the API URL of urn (new URL(rel, apiUrl) in the SDK).
func (d *Directory) Resolve(ctx context.Context, urn, rel string) (string, error) {
	base, err := d.URL(ctx, urn)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(rel)
	if err != nil {
		return "", fmt.Errorf("adsp: relative URL %q: %w", rel, err)
	}
	return base.ResolveReference(r).String(), nil
}

// do sends req and returns the body of a 2xx answer (at most maxResponseBytes).
func do(hc *http.Client, req *http.Request) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Code: resp.StatusCode, URL: req.URL.Redacted()}
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", req.URL.Redacted(), maxResponseBytes)
	}
	return body, nil
}

// StatusError is a non-2xx answer of an ADSP service.
type StatusError struct {
	Code int
	URL  string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s: status %d", e.URL, e.Code) }

// isNotFound reports whether err is a 404 answer.
func isNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}
