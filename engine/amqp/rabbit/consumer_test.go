package rabbit_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/amqp/rabbittest"

	"github.com/pushgate/pushgate/internal/waitfor"
)

var broker *rabbittest.Broker

func TestMain(m *testing.M) { rabbittest.Main(m, &broker) }

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	errors []string
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.mu.Lock()
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		h.errors = append(h.errors, b.String())
		h.mu.Unlock()
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.errors...)
}

// A broker that is not there: retried with backoff, one ERROR line (without the password), no
// goroutine growth.
func TestBrokerDownOneErrorLineNoGrowth(t *testing.T) {
	h := &countingHandler{}
	c, err := rabbit.NewConsumer(rabbit.Config{URL: "amqp://user:s3cret@127.0.0.1:1/", BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, Logger: slog.New(h)},
		rabbit.Queue{Name: "q", Binding: "#"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx, func([]*rabbit.Message) error { return nil }) }()
	waitfor.True(t, 10*time.Second, "10 failures", func() bool { return c.Stats().Failures.Load() >= 10 })
	g := runtime.NumGoroutine()
	waitfor.True(t, 20*time.Second, "200 failures", func() bool { return c.Stats().Failures.Load() >= 200 })
	if now := runtime.NumGoroutine(); now > g+2 {
		t.Fatalf("goroutines grew from %d to %d over 190 failed attempts", g, now)
	}
	if err := c.Ready(); err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "user@127.0.0.1:1") {
		t.Fatalf("Ready = %v", err)
	}
	cancel()
	<-done
	lines := h.lines()
	if len(lines) != 1 || strings.Contains(lines[0], "s3cret") {
		t.Fatalf("ERROR lines: %q, want exactly one, without the password", lines)
	}
}

// The broker closes every connection (a blip) three times: the consumer comes back each time by
// itself, gets the messages published meanwhile, and its goroutines do not grow.
func TestBlipReconnectsNoGrowth(t *testing.T) {
	cfg := rabbit.Config{URL: broker.URL, Exchange: "blip", BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	c, err := rabbit.NewConsumer(cfg, rabbit.Queue{Name: "blip-q", Binding: "#", Quorum: true})
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, func(b []*rabbit.Message) error { got.Add(int64(len(b))); return nil })
	}()
	defer func() { cancel(); <-done }()
	waitfor.True(t, 30*time.Second, "consuming", func() bool { return c.Ready() == nil })
	publish := func() {
		p, err := rabbit.NewPublisher(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.Publish(context.Background(), "k", rabbit.Outgoing{Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	publish()
	waitfor.True(t, 10*time.Second, "the first message", func() bool { return got.Load() == 1 })
	g := runtime.NumGoroutine()
	for i := 1; i <= 3; i++ {
		if err := broker.CloseConnections(); err != nil {
			t.Fatal(err)
		}
		waitfor.True(t, 30*time.Second, "the reconnection", func() bool { return c.Stats().Connects.Load() == uint64(i+1) && c.Ready() == nil })
		publish()
		waitfor.True(t, 10*time.Second, "the message after the blip", func() bool { return got.Load() == int64(i+1) })
	}
	if now := runtime.NumGoroutine(); now > g+2 {
		t.Fatalf("goroutines grew from %d to %d over 3 blips", g, now)
	}
}
