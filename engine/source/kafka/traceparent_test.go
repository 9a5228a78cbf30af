package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	fieldTP  = "00-11111111111111111111111111111111-2222222222222222-01"
	headerTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// The record's traceparent header is the event's trace context and wins over the value's field;
// without the header the field is kept; an invalid header is ignored, not a reason to skip.
func TestTraceparentFromRecordHeader(t *testing.T) {
	b := newBroker(t)
	p := newProducer(t, b)
	s, c := startSource(t, testConfig(b), nil)
	waitStarted(t, s, 3)
	withField := fmt.Appendf(nil, `{"tenantId":%q,"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05.678Z","traceparent":%q,"payload":{"seq":1}}`, testTenant, fieldTP)
	recs := []*kgo.Record{
		{Topic: testTopic, Partition: 0, Value: withField, Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(headerTP)}}},
		{Topic: testTopic, Partition: 0, Value: withField},
		{Topic: testTopic, Partition: 0, Value: eventJSON(testTenant, 3), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("garbage")}}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := c.len(); n < 3 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	c.mu.Lock()
	evs := c.evs[:3]
	c.mu.Unlock()
	for i, want := range []string{headerTP, fieldTP, ""} {
		if evs[i].Traceparent != want {
			t.Errorf("event %d traceparent %q, want %q", i, evs[i].Traceparent, want)
		}
	}
}
