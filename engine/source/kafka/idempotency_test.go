package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/source"
)

// TestIdempotencyKeyDropsRepeats: a publish retried with the same idempotency key is written twice
// (the first answer was lost) and delivered once — live, by a ReadRange over both records, and
// by a reader that starts after both; another tenant's record with the same key is its own.
func TestIdempotencyKeyDropsRepeats(t *testing.T) {
	b := kafkatest.NewBroker(t)
	s, live := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	from := s.Position()
	const other = "urn:ads:platform:tenant-service:v2:/tenants/76543210fedcba9876543210"
	for _, p := range []struct {
		tenant, key string
		seq         int
	}{{kafkatest.Tenant, "k1", 1}, {kafkatest.Tenant, "k1", 1}, {other, "k1", 2}, {kafkatest.Tenant, "k2", 3}} {
		if _, err := s.Publish(&source.Event{TenantID: p.tenant, JSON: kafkatest.EventJSON(p.tenant, p.seq), IdempotencyKey: p.key}); err != nil {
			t.Fatal(err)
		}
	}
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := live.Len(); n < 3 {
			return fmt.Errorf("%d of 3 live", n)
		}
		return nil
	})
	kafkatest.CheckExactly(t, live.Snapshot(), 1, 4)
	if n := s.Stats().Duplicates.Load(); n != 1 {
		t.Errorf("%d duplicates counted, want 1", n)
	}
	again := &kafkatest.Collector{}
	if err := s.ReadRange(context.Background(), from, s.Position(), again.Add); err != nil {
		t.Fatal(err)
	}
	kafkatest.CheckExactly(t, again.Snapshot(), 1, 4)
	late, lateC := startSource(t, kafkatest.Config(b), from) // a fresh reader over both records
	waitStarted(t, late, 3)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := lateC.Len(); n < 3 {
			return fmt.Errorf("%d of 3", n)
		}
		return nil
	})
	kafkatest.CheckExactly(t, lateC.Snapshot(), 1, 4)
}
