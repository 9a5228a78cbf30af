package configsvc

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeConfigService serves /latest documents keyed by tenantId ("" = core).
type fakeConfigService struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	docs    map[string]string // body per tenant
	status  map[string]int    // non-zero overrides 200
	count   map[string]int
	queries []string
	auths   []string
	block   chan struct{} // when non-nil, requests wait for it to close
}

func newFake(t *testing.T) *fakeConfigService {
	t.Helper()
	f := &fakeConfigService{t: t, docs: map[string]string{}, status: map[string]int{}, count: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeConfigService) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet || req.URL.Path != latestPath {
		f.t.Errorf("unexpected request %s %s", req.Method, req.URL.Path)
		http.NotFound(w, req)
		return
	}
	tenant := req.URL.Query().Get("tenantId")
	f.mu.Lock()
	f.count[tenant]++
	f.queries = append(f.queries, req.URL.RawQuery)
	f.auths = append(f.auths, req.Header.Get("Authorization"))
	body, status, block := f.docs[tenant], f.status[tenant], f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	if status != 0 {
		w.WriteHeader(status)
	}
	_, _ = w.Write([]byte(body))
}

func (f *fakeConfigService) set(tenant, body string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[tenant], f.status[tenant] = body, status
}

func (f *fakeConfigService) requests(tenant string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[tenant]
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newReader(t *testing.T, cfg Config) (*Reader, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, logs
}

// signalled reports whether Changes has a pending signal (consuming it).
func signalled(r *Reader) bool {
	select {
	case <-r.Changes():
		return true
	default:
		return false
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	t.Cleanup(cancel)
	return ctx
}
