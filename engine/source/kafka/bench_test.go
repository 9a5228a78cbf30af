package kafka

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/source"
)

// BenchmarkDecodeDispatch measures the per-record work of the consumer after the fetch: sonic
// decode and validation (source.DecodeEvent), the canonical event JSON, the position-vector id and
// the dispatch call, on one goroutine.
func BenchmarkDecodeDispatch(b *testing.B) {
	for _, parts := range []int{3, 12} {
		b.Run("partitions="+itoa(parts), func(b *testing.B) {
			cfg := client.Config{Brokers: []string{"x:1"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			cfg.ApplyDefaults()
			s := &Source{cfg: cfg, stats: client.NewStats(), rl: client.NewRateLog(cfg.Logger, time.Second), subscribed: make(chan struct{})}
			n := 0
			s.Subscribe(func(ev *source.Event) { n += len(ev.ID) })
			value := []byte(`{"tenantId":"` + kafkatest.Tenant + `","namespace":"form-service","name":"form-submitted",` +
				`"timestamp":"2026-01-02T03:04:05.678Z","correlationId":"job-1","context":{"formId":"f-1"},` +
				`"payload":{"form":{"id":"f-1","definitionId":"intake","status":"submitted"},"submittedBy":{"id":"u-1","name":"Some One"}}}`)
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ev, err := DecodeRecord(&s.cfg, value, nil)
				if err != nil {
					b.Fatal(err)
				}
				s.deliver(item{part: i % parts, off: int64(i / parts), ev: ev})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
