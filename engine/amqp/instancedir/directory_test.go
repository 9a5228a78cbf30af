package instancedir

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/amqp/rabbittest"
)

var broker *rabbittest.Broker

func TestMain(m *testing.M) { rabbittest.Main(m, &broker) }

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two instances find each other; a graceful stop removes one at once (no missed heartbeats).
func TestDirectory(t *testing.T) {
	dir := func(id, addr string) *Directory {
		d, err := New(Config{Rabbit: rabbit.Config{URL: broker.URL, Logger: slog.New(slog.DiscardHandler)}, Self: Instance{ID: id, Addr: addr}, Interval: 200 * time.Millisecond, Missed: 50})
		if err != nil {
			t.Fatal(err)
		}
		d.Start()
		return d
	}
	a, b := dir("a", "10.0.0.1:8091"), dir("b", "10.0.0.2:8091")
	defer a.Close()
	waitFor(t, "each sees both", 30*time.Second, func() bool { return len(a.Live()) == 2 && len(b.Live()) == 2 })
	if addr, ok := a.Lookup("b"); !ok || addr != "10.0.0.2:8091" {
		t.Fatalf("Lookup(b) = %q, %v", addr, ok)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Missed is 50 intervals (10 s): only the leave message can remove b this fast.
	waitFor(t, "b gone after its leave message", 3*time.Second, func() bool { _, ok := a.Lookup("b"); return !ok })
}
