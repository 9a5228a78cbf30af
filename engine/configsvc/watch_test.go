package configsvc

import (
	"context"
	"testing"
	"time"

	"github.com/pushgate/pushgate/internal/waitfor"
)

func TestObserveInvalidation(t *testing.T) {
	const pushDoc = `{"namespace":"platform","name":"push-service","revision":3}`
	tests := []struct {
		name             string
		ns, ev, tenant   string
		payload, context string
		evicted          string // tenant whose document must be re-fetched; "" = none
	}{
		{"configuration-updated payload", "configuration-service", "configuration-updated", tenantA, pushDoc, "", tenantA},
		{"revision-created other tenant", "configuration-service", "revision-created", tenantB, pushDoc, "", tenantB},
		{"active-revision-set via context", "configuration-service", "active-revision-set", tenantA, `{"revision":1}`, `{"namespace":"platform","name":"push-service"}`, tenantA},
		{"configuration-deleted", "configuration-service", "configuration-deleted", tenantA, pushDoc, "", tenantA},
		{"other document", "configuration-service", "configuration-updated", tenantA, `{"namespace":"platform","name":"form-service"}`, `{"namespace":"platform","name":"form-service"}`, ""},
		{"other namespace same payload", "pdf-service", "pdf-generated", tenantA, pushDoc, "", ""},
		{"no tenant", "configuration-service", "configuration-updated", "", pushDoc, "", ""},
		{"unknown tenant", "configuration-service", "configuration-updated", "urn:other", pushDoc, "", ""},
		{"invalid payload", "configuration-service", "configuration-updated", tenantA, `{"namespace":`, `[]`, ""},
		{"case sensitive", "configuration-service", "configuration-updated", tenantA, `{"namespace":"Platform","name":"push-service"}`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.set("", `{}`, 0)
			f.set(tenantA, `{}`, 0)
			f.set(tenantB, `{}`, 0)
			r, _ := newReader(t, Config{URL: f.srv.URL, TTL: time.Hour})
			tenants := []string{tenantA, tenantB}
			r.Documents(ctxT(t), tenants)

			r.Observe(tc.ns, tc.ev, tc.tenant, []byte(tc.payload), []byte(tc.context))

			// A matching event for a tenant that is not cached still asks for a re-read.
			wantSignal := tc.evicted != "" || tc.tenant == "urn:other"
			if got := signalled(r); got != wantSignal {
				t.Errorf("Changes signalled = %v, want %v", got, wantSignal)
			}
			r.Documents(ctxT(t), tenants)
			if n := f.requests(""); n != 1 {
				t.Errorf("core requests = %d, want 1 (core is refreshed only by TTL)", n)
			}
			for _, tn := range tenants {
				want := 1
				if tn == tc.evicted {
					want = 2
				}
				if n := f.requests(tn); n != want {
					t.Errorf("requests for %s = %d, want %d", tn, n, want)
				}
			}
		})
	}
}

func TestObserveDuringFetchIsNotCached(t *testing.T) {
	f := newFake(t)
	f.set(tenantA, `{"old":{"id":"old","name":"old"}}`, 0)
	f.block = make(chan struct{})
	r, _ := newReader(t, Config{URL: f.srv.URL, TTL: time.Hour})
	done := make(chan []byte)
	go func() { _, d := r.Documents(context.Background(), []string{tenantA}); done <- d[tenantA] }()
	waitfor.True(t, 3*time.Second, "tenant request", func() bool { return f.requests(tenantA) == 1 })
	r.Observe("configuration-service", "configuration-updated", tenantA, []byte(`{"namespace":"platform","name":"push-service"}`), nil)
	close(f.block)
	<-done
	f.mu.Lock()
	f.block = nil
	f.mu.Unlock()
	r.Documents(ctxT(t), []string{tenantA})
	if n := f.requests(tenantA); n != 2 {
		t.Errorf("tenant requests = %d, want 2 (stale in-flight result must not be cached)", n)
	}
}

func TestExpiryFiresChanges(t *testing.T) {
	tests := []struct {
		name    string
		tenants []string
	}{
		{"core only", nil},
		{"core and tenant", []string{tenantA}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.set("", `{}`, 0)
			f.set(tenantA, `{}`, 0)
			r, _ := newReader(t, Config{URL: f.srv.URL, TTL: 40 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r.Start(ctx)
			r.Start(ctx) // idempotent
			r.Documents(ctxT(t), tc.tenants)
			// Each document expires on its own TTL, so the tenant's (fetched a moment after the
			// core's) may expire in a later sweep: re-read on every signal, as the registry does.
			expired := func() bool {
				for _, tn := range append([]string{""}, tc.tenants...) {
					if f.requests(tn) < 2 {
						return false
					}
				}
				return true
			}
			deadline := time.After(3 * time.Second)
			for !expired() {
				select {
				case <-r.Changes():
				case <-deadline:
					t.Fatalf("not every document re-read after TTL: core %d, tenants %v", f.requests(""), tc.tenants)
				}
				r.Documents(ctxT(t), tc.tenants)
			}
		})
	}
}

func TestFailedFetchRetrySignalsChanges(t *testing.T) {
	f := newFake(t)
	f.set("", `boom`, 500)
	r, _ := newReader(t, Config{URL: f.srv.URL, TTL: time.Hour, RetryInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx)
	if core, _ := r.Documents(ctxT(t), nil); core != nil {
		t.Fatalf("core = %q, want nil", core)
	}
	select {
	case <-r.Changes():
	case <-time.After(3 * time.Second):
		t.Fatal("Changes not signalled for the retry")
	}
	f.set("", `{"s":{"id":"s","name":"s"}}`, 0)
	if core, _ := r.Documents(ctxT(t), nil); string(core) != `{"s":{"id":"s","name":"s"}}` {
		t.Errorf("core after retry = %q", core)
	}
	if err := r.Ready(); err != nil {
		t.Errorf("Ready = %v", err)
	}
}

func BenchmarkObserveOtherNamespace(b *testing.B) {
	r, err := New(Config{URL: "http://config.example"})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"jobId":"1"}`)
	b.ReportAllocs()
	for b.Loop() {
		r.Observe("pdf-service", "pdf-generated", tenantA, payload, nil)
	}
}
