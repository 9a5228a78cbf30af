package source

import (
	"testing"
)

// An ingested event's JSON is built in one allocation (from nil it grew through six), and the
// Event is the other.
func TestIncomingEventAllocatesTwice(t *testing.T) {
	in, err := DecodeEvent([]byte(`{"namespace":"shop","name":"order-placed","timestamp":"2026-01-02T03:04:05.678Z","correlationId":"c-17","context":{"k":"v","n":2},"payload":{"orderId":17,"items":["a","b"],"note":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	in.SetTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if n := testing.AllocsPerRun(100, func() { _ = in.Event("urn:ads:platform:tenant-service:v2:/tenants/61f0a2b3c4d5e6f708192a3b") }); n != 2 {
		t.Fatalf("%v allocations per event, want 2", n)
	}
}
