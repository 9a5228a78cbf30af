package edge

import (
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/pushgate/pushgate/engine/auth"
	"github.com/pushgate/pushgate/engine/config"
	"github.com/pushgate/pushgate/engine/operator"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/stream"
	"github.com/pushgate/pushgate/engine/tenant"
)

// racingBackend rebuilds once between the edge's first Registry read and its OnChange
// registration, as the control half's watcher can while the edge is being built.
type racingBackend struct {
	reg   *stream.Registry
	next  *stream.Registry
	reads int
}

func (b *racingBackend) ResolveTenant(string) (tenant.Tenant, bool) { return tenant.Tenant{}, false }
func (b *racingBackend) TenantByRealm(string) (string, bool)        { return "", false }
func (b *racingBackend) Subscribe(func(*source.Event))              {}
func (b *racingBackend) OnOrder(func(*operator.Order))              {}
func (b *racingBackend) Ready() error                               { return nil }
func (b *racingBackend) Registry() *stream.Registry {
	b.reads++
	return b.reg
}
func (b *racingBackend) OnChange(func()) {
	if b.reads == 1 { // the rebuild happened before the callback was registered: it is not called
		b.reg = b.next
	}
}

func TestRebuildWhileTheEdgeIsBuiltIsNotMissed(t *testing.T) {
	before, err := stream.Build([]byte(`{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := stream.Build([]byte(`{"updates":{"id":"updates","name":"Updates","events":[{"namespace":"n","name":"e"}]}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	v, err := auth.NewVerifier(auth.Config{IssuerBase: "http://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg config.Config
	cfg.ApplyDefaults()
	b := &racingBackend{reg: before, next: after}
	s, err := New(cfg, b, Seams{Listener: ln, Fallback: func(*fasthttp.RequestCtx) {}, Verifier: v, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.Hub.Registry().Lookup("", "updates"); !ok {
		t.Fatal("the hub routes with the registry from before the rebuild")
	}
}
