package instancedir

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/amqp/rabbittest"

	"github.com/pushgate/pushgate/internal/waitfor"
)

var broker *rabbittest.Broker

func TestMain(m *testing.M) { rabbittest.Main(m, &broker) }

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
	waitfor.True(t, 30*time.Second, "each sees both", func() bool { return len(a.Live()) == 2 && len(b.Live()) == 2 })
	if addr, ok := a.Lookup("b"); !ok || addr != "10.0.0.2:8091" {
		t.Fatalf("Lookup(b) = %q, %v", addr, ok)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Missed is 50 intervals (10 s): only the leave message can remove b this fast.
	waitfor.True(t, 3*time.Second, "b gone after its leave message", func() bool { _, ok := a.Lookup("b"); return !ok })
}
