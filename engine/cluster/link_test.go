package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// recorder collects the ids a client delivers.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) add(ev *source.Event) {
	r.mu.Lock()
	r.ids = append(r.ids, ev.ID)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// wantSeq checks that r holds exactly ids 1..n in order.
func (r *recorder) wantSeq(n int) error {
	ids := r.snapshot()
	if len(ids) != n {
		return fmt.Errorf("got %d events, want %d", len(ids), n)
	}
	for i, id := range ids {
		if id != strconv.Itoa(i+1) {
			return fmt.Errorf("event %d has id %s", i, id)
		}
	}
	return nil
}

func startLink(t *testing.T, cfg LinkConfig) (*LinkServer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "l.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewLinkServer(cfg)
	if err := s.SetSnapshot(sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = ln.Close(); s.Close() })
	return s, path
}

func dialReady(t *testing.T, path string, index int) (*Client, *recorder) {
	t.Helper()
	c := Dial(ClientConfig{Path: path, Index: index})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	c.Subscribe(r.add)
	return c, r
}

func publishN(s *LinkServer, from, to int) {
	for i := from; i <= to; i++ {
		ev := sampleEvent(i)
		ev.ID = strconv.Itoa(i)
		s.Publish(ev)
	}
}

func TestLinkSnapshotAndEvents(t *testing.T) {
	s, path := startLink(t, LinkConfig{})
	c0, r0 := dialReady(t, path, 0)
	_, r1 := dialReady(t, path, 1)
	waitfor.Check(t, 5*time.Second, func() error {
		if n := len(s.Workers()); n != 2 {
			return fmt.Errorf("%d workers linked", n)
		}
		return nil
	})
	publishN(s, 1, 2000)
	for _, r := range []*recorder{r0, r1} {
		waitfor.Check(t, 5*time.Second, func() error { return r.wantSeq(2000) })
	}
	if err := c0.Ready(); err != nil {
		t.Errorf("Ready: %v", err)
	}
	id := store.TenantURNPrefix + "0123456789abcdef01234567"
	for _, ref := range []string{id, "0123456789abcdef01234567", "demo-tenant", "Demo Tenant", "DEMO-TENANT"} {
		if tn, ok := c0.ResolveTenant(ref); !ok || tn.ID != id {
			t.Errorf("ResolveTenant(%q) = %+v, %v", ref, tn, ok)
		}
	}
	if _, ok := c0.ResolveTenant("other"); ok {
		t.Error("ResolveTenant(other) found a tenant")
	}
	if urn, ok := c0.TenantByRealm("demo-tenant"); !ok || urn != id {
		t.Errorf("TenantByRealm = %s, %v", urn, ok)
	}
	// A configuration change reaches the worker as a new snapshot, after the events before it,
	// and its watchers run once the new registry is visible.
	changed := make(chan struct{}, 1)
	c0.OnChange(func() {
		if _, ok := c0.Registry().Lookup(id, "changed"); ok {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	})
	snap := sampleSnapshot()
	snap.Configs[id] = []byte(`{"changed":{"id":"changed","name":"Changed","events":[{"namespace":"a","name":"b"}]}}`)
	if err := s.SetSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no change notification with the new registry")
	}
	if got := c0.Snapshot().Configs[id]; !strings.Contains(string(got), `"changed"`) {
		t.Errorf("snapshot after change = %s", got)
	}
}

// A dropped link resumes from the parent's ring: every event exactly once, in order.
func TestLinkResume(t *testing.T) {
	s, path := startLink(t, LinkConfig{})
	c, r := dialReady(t, path, 0)
	publishN(s, 1, 100)
	waitfor.Check(t, 5*time.Second, func() error { return r.wantSeq(100) })
	for round := 0; round < 3; round++ {
		s.mu.Lock()
		for p := range s.peers {
			s.dropLocked(p, "test")
		}
		s.mu.Unlock()
		publishN(s, 101+round*100, 200+round*100) // published while the worker is away
		waitfor.Check(t, 5*time.Second, func() error { return r.wantSeq(200 + round*100) })
	}
	if g := c.Gaps.Load(); g != 0 {
		t.Errorf("gaps = %d", g)
	}
}

// A worker that stops reading loses its link; the others keep receiving everything.
func TestLinkSlowWorkerDropped(t *testing.T) {
	s, path := startLink(t, LinkConfig{QueueFrames: 64, QueueBytes: 1 << 20})
	stuck, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if _, err := stuck.Write(AppendHello(nil, Hello{Index: 9})); err != nil {
		t.Fatal(err)
	}
	_, r := dialReady(t, path, 0)
	waitfor.Check(t, 5*time.Second, func() error {
		if n := len(s.Workers()); n != 2 {
			return fmt.Errorf("%d workers linked", n)
		}
		return nil
	})
	n := 0
	for s.Dropped.Load() == 0 && n < 200_000 {
		publishN(s, n+1, n+16)
		n += 16
		waitfor.Check(t, 5*time.Second, func() error { return r.wantSeq(n) })
	}
	if s.Dropped.Load() != 1 {
		t.Fatalf("dropped = %d after %d events, want the stuck worker dropped", s.Dropped.Load(), n)
	}
	if w := s.Workers(); len(w) != 1 || w[0] != 0 {
		t.Errorf("linked workers = %v, want [0]", w)
	}
}

// BenchmarkLinkPublish measures parent → worker throughput: publish b.N events to two linked
// workers and wait for both to deliver them all.
func BenchmarkLinkPublish(b *testing.B) {
	b.ReportAllocs()
	path := filepath.Join(b.TempDir(), "l.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	s := NewLinkServer(LinkConfig{Logger: quietLogger()})
	_ = s.SetSnapshot(sampleSnapshot())
	go func() { _ = s.Serve(ln) }()
	defer func() { _ = ln.Close(); s.Close() }()
	var got [2]atomic.Int64
	for i := range got {
		c := Dial(ClientConfig{Path: path, Index: i, Logger: quietLogger()})
		defer c.Close()
		_ = c.WaitReady(context.Background())
		c.Subscribe(func(*source.Event) { got[i].Add(1) })
	}
	for len(s.Workers()) < 2 {
		time.Sleep(time.Millisecond)
	}
	ev := sampleEvent(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Publish(ev)
		if i%4096 == 4095 { // stay within the queue bound
			for got[0].Load() < int64(i-1024) || got[1].Load() < int64(i-1024) {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	for got[0].Load() < int64(b.N) || got[1].Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	if s.Dropped.Load() != 0 {
		b.Fatalf("links dropped: %d", s.Dropped.Load())
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A new worker process receives the retained events as backlog (for its replay history only),
// then the live events; a worker that resumes gets only what it missed, none as backlog.
func TestLinkNewWorkerGetsTheBacklog(t *testing.T) {
	s, path := startLink(t, LinkConfig{ResumeFrames: 40})
	publishN(s, 1, 50) // the ring keeps 11..50
	c := Dial(ClientConfig{Path: path, Index: 3})
	t.Cleanup(func() { _ = c.Close() })
	var mu sync.Mutex
	var got []string
	c.Subscribe(func(ev *source.Event) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%s:%v", ev.ID, ev.Backlog))
		mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	waitfor.Check(t, 5*time.Second, func() error {
		if n := len(s.Workers()); n != 1 {
			return fmt.Errorf("%d workers linked", n)
		}
		return nil
	})
	expect := func(want []string) {
		t.Helper()
		waitfor.Check(t, 5*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("got %v\nwant %v", got, want)
			}
			return nil
		})
	}
	publishN(s, 51, 55)
	var want []string
	for i := 11; i <= 55; i++ {
		want = append(want, fmt.Sprintf("%d:%v", i, i <= 50))
	}
	expect(want)
	// Resuming after a dropped link: the missed events only, live.
	s.mu.Lock()
	for p := range s.peers {
		s.dropLocked(p, "test")
	}
	s.mu.Unlock()
	publishN(s, 56, 58)
	want = append(want, "56:false", "57:false", "58:false")
	expect(want)
}
