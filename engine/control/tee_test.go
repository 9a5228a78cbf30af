package control

import (
	"testing"

	"github.com/pushgate/pushgate/engine/source"
)

// In ADSP mode the ingest publishes through the tee; a key the ingest forgets after a 503 "not
// recorded" is forgotten in the local bus, so the retry is published again.
func TestTeeForgetsKeysInTheLocalBus(t *testing.T) {
	bus := source.NewBus(source.BusConfig{QueueSize: 8})
	defer bus.Close()
	ev := func() *source.Event { return &source.Event{TenantID: "t", IdempotencyKey: "k", JSON: []byte(`{}`)} }
	first, err := bus.Publish(ev())
	if err != nil {
		t.Fatal(err)
	}
	teePublisher{local: bus}.ForgetKey("t", "k")
	if again, err := bus.Publish(ev()); err != nil || again == first {
		t.Fatalf("after the tee forgot the key: %s, %v; want a new id", again, err)
	}
}
