package configsvc

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

const (
	tenantA = "urn:ads:platform:tenant-service:v2:/tenants/a b&c"
	tenantB = "urn:ads:platform:tenant-service:v2:/tenants/bbb"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"valid", Config{URL: "https://config.example"}, true},
		{"valid with path", Config{URL: "http://config.example/prefix/"}, true},
		{"empty", Config{}, false},
		{"no scheme", Config{URL: "config.example"}, false},
		{"ftp", Config{URL: "ftp://config.example"}, false},
		{"query", Config{URL: "https://config.example/?x=1"}, false},
		{"negative ttl", Config{URL: "https://config.example", TTL: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New(%+v) err = %v, want ok=%v", tc.cfg, err, tc.ok)
			}
		})
	}
}

func TestDocumentsURLsAuthAndBodies(t *testing.T) {
	f := newFake(t)
	f.set("", `{"core-stream":{"id":"core-stream","name":"Core"}}`, 0)
	f.set(tenantA, ` {"a":{"id":"a","name":"A"}} `, 0)
	f.set(tenantB, `null`, 0)
	var tokens int
	var mu sync.Mutex
	r, _ := newReader(t, Config{URL: f.srv.URL + "/", Token: func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		tokens++
		return "tok-1", nil
	}})
	if r.Ready() == nil {
		t.Fatal("Ready before first fetch")
	}
	core, docs := r.Documents(ctxT(t), []string{tenantA, tenantB, tenantA, ""})

	if string(core) != `{"core-stream":{"id":"core-stream","name":"Core"}}` {
		t.Errorf("core = %s", core)
	}
	want := map[string]string{tenantA: `{"a":{"id":"a","name":"A"}}`, tenantB: `{}`}
	if len(docs) != len(want) {
		t.Errorf("docs = %v, want keys of %v", docs, want)
	}
	for k, v := range want {
		if string(docs[k]) != v {
			t.Errorf("doc[%q] = %q, want %q", k, docs[k], v)
		}
	}
	if err := r.Ready(); err != nil {
		t.Errorf("Ready = %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	wantQ := map[string]bool{"": true, "tenantId=" + url.QueryEscape(tenantA): true, "tenantId=" + url.QueryEscape(tenantB): true}
	if len(f.queries) != 3 {
		t.Fatalf("queries = %q, want 3", f.queries)
	}
	for _, q := range f.queries {
		if !wantQ[q] {
			t.Errorf("unexpected raw query %q", q)
		}
	}
	for _, a := range f.auths {
		if a != "Bearer tok-1" {
			t.Errorf("Authorization = %q", a)
		}
	}
	if tokens != 3 {
		t.Errorf("Token called %d times, want 3 (once per request)", tokens)
	}
}

func TestNoTokenNoAuthorization(t *testing.T) {
	f := newFake(t)
	r, _ := newReader(t, Config{URL: f.srv.URL})
	if core, _ := r.Documents(ctxT(t), nil); string(core) != "{}" {
		t.Errorf("empty body core = %q, want {}", core)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auths) != 1 || f.auths[0] != "" {
		t.Errorf("Authorization = %q, want one request without it", f.auths)
	}
}

func TestCachingWithinTTL(t *testing.T) {
	f := newFake(t)
	f.set("", `{}`, 0)
	f.set(tenantA, `{"x":{"id":"x","name":"x"}}`, 0)
	r, _ := newReader(t, Config{URL: f.srv.URL, TTL: time.Hour})
	for range 3 {
		r.Documents(ctxT(t), []string{tenantA})
	}
	if n, m := f.requests(""), f.requests(tenantA); n != 1 || m != 1 {
		t.Errorf("requests core=%d tenant=%d, want 1 each", n, m)
	}
}

func TestConcurrentFetchesDeduplicated(t *testing.T) {
	f := newFake(t)
	f.set("", `{}`, 0)
	f.block = make(chan struct{})
	r, _ := newReader(t, Config{URL: f.srv.URL})
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if core, _ := r.Documents(ctxT(t), nil); string(core) != "{}" {
				t.Errorf("core = %q", core)
			}
		})
	}
	waitfor.True(t, 3*time.Second, "first request", func() bool { return f.requests("") == 1 })
	close(f.block)
	wg.Wait()
	if n := f.requests(""); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestFailuresYieldNilAndAreNotCached(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		token   func(context.Context) (string, error)
		logWant string
	}{
		{"http 500", `{"errorMessage":"boom"}`, 500, nil, "unexpected status 500"},
		{"http 404", `{}`, 404, nil, "unexpected status 404"},
		{"invalid json", `{"a":`, 0, nil, "not a JSON object"},
		{"array", `[1,2]`, 0, nil, "not a JSON object"},
		{"string", `"x"`, 0, nil, "not a JSON object"},
		{"oversized", `{"a":"` + strings.Repeat("x", 64) + `"}`, 0, nil, "larger than 32 bytes"},
		{"token error", `{}`, 0, func(context.Context) (string, error) { return "", errors.New("no token") }, "no token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.set("", tc.body, tc.status)
			f.set(tenantA, tc.body, tc.status)
			r, logs := newReader(t, Config{URL: f.srv.URL, MaxDocBytes: 32, Token: tc.token})
			for range 2 {
				core, docs := r.Documents(ctxT(t), []string{tenantA})
				if core != nil || docs[tenantA] != nil {
					t.Fatalf("core=%q tenant=%q, want nil", core, docs[tenantA])
				}
				if _, ok := docs[tenantA]; !ok {
					t.Fatal("failed tenant missing from byTenant")
				}
			}
			if tc.token == nil {
				if n, m := f.requests(""), f.requests(tenantA); n != 2 || m != 2 {
					t.Errorf("requests core=%d tenant=%d, want 2 each (not cached)", n, m)
				}
			}
			if r.Ready() == nil {
				t.Error("Ready after failed core fetch")
			}
			if l := logs.String(); !strings.Contains(l, "fetch failed") || !strings.Contains(l, tc.logWant) {
				t.Errorf("log %q lacks %q", l, tc.logWant)
			}
		})
	}
}

func TestContextCancelledWhileJoining(t *testing.T) {
	f := newFake(t)
	f.set("", `{}`, 0)
	f.block = make(chan struct{})
	defer close(f.block)
	r, _ := newReader(t, Config{URL: f.srv.URL})
	go r.Documents(context.Background(), nil)
	waitfor.True(t, 3*time.Second, "first request", func() bool { return f.requests("") == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if core, _ := r.Documents(ctx, nil); core != nil {
		t.Errorf("core = %q, want nil for a cancelled joiner", core)
	}
}
