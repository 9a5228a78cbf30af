package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/configsvc"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// With --configuration-service-url, stream documents come from the configuration service, and a
// configuration-service event about platform:push-service for a tenant makes that tenant's
// document be read again.
func TestStreamsFromConfigurationService(t *testing.T) {
	var mu sync.Mutex
	docs := map[string]string{"": `{}`}
	cs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/configuration/v2/configuration/platform/push-service/latest" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		doc, ok := docs[r.URL.Query().Get("tenantId")]
		mu.Unlock()
		if !ok {
			doc = `{}`
		}
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(cs.Close)
	stream := func(id string) string {
		return `"` + id + `":{"id":"` + id + `","name":"` + id + `","publicSubscribe":true,"subscriberRoles":[],"events":[{"namespace":"n","name":"e"}]}`
	}
	srv := startPlain(t, engine.Config{ConfigService: &configsvc.Config{URL: cs.URL}})
	demo, _ := srv.Store.ResolveTenant("demo")
	mu.Lock()
	docs[demo.ID] = `{` + stream("remote") + `}`
	mu.Unlock()
	// The first registry was built before the document existed; an invalidating event brings it in.
	invalidate := func() {
		publish(t, srv, demo.ID, `{"namespace":"configuration-service","name":"configuration-updated","timestamp":"2026-01-01T00:00:00Z","payload":{"namespace":"platform","name":"push-service"}}`)
	}
	invalidate()
	waitfor.True(t, 3*time.Second, "the condition", func() bool { _, ok := srv.Hub.Registry().Lookup(demo.ID, "remote"); return ok })
	mu.Lock()
	docs[demo.ID] = `{` + stream("remote") + `,` + stream("remote2") + `}`
	mu.Unlock()
	invalidate()
	waitfor.True(t, 3*time.Second, "the condition", func() bool { _, ok := srv.Hub.Registry().Lookup(demo.ID, "remote2"); return ok })
	resp, err := http.Get(srv.URL() + "/stream/v1/streams/remote2?tenant=demo")
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("SSE on a configuration-service stream: %v %v", resp, err)
	}
	resp.Body.Close()
}

// startPlain runs an embedded server without extra streams.
func startPlain(t *testing.T, cfg engine.Config) *engine.Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	srv, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitfor.True(t, 3*time.Second, "the condition", func() bool {
		resp, err := http.Get(srv.URL() + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return srv
}

// One tenant's document that does not compile is skipped and reported; it never freezes the
// other tenants' changes (the registry rebuild used to keep the previous registry whenever any
// document failed, so no change of anyone applied any more).
func TestInvalidDocumentDoesNotFreezeOthers(t *testing.T) {
	var mu sync.Mutex
	docs := map[string]string{"": `{}`}
	cs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		doc, ok := docs[r.URL.Query().Get("tenantId")]
		mu.Unlock()
		if !ok {
			doc = `{}`
		}
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(cs.Close)
	srv := startPlain(t, engine.Config{ConfigService: &configsvc.Config{URL: cs.URL}})
	demo, _ := srv.Store.ResolveTenant("demo")
	broken, err := srv.Store.CreateTenant("Broken")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	docs[broken.ID] = `{"bad":{"id":"bad","name":"Bad","events":[{"namespace":1}]}}` // JSON, but not a stream document
	docs[demo.ID] = `{"later":{"id":"later","name":"Later","publicSubscribe":true,"subscriberRoles":[],"events":[{"namespace":"n","name":"e"}]}}`
	mu.Unlock()
	publish(t, srv, demo.ID, `{"namespace":"configuration-service","name":"configuration-updated","timestamp":"2026-01-01T00:00:00Z","payload":{"namespace":"platform","name":"push-service"}}`)
	waitfor.True(t, 3*time.Second, "the condition", func() bool { _, ok := srv.Hub.Registry().Lookup(demo.ID, "later"); return ok })
}
