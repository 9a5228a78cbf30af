package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/source"
)

const (
	fieldTP  = "00-11111111111111111111111111111111-2222222222222222-01"
	headerTP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// The record's traceparent header is the event's trace context and wins over the value's field;
// without the header the field is kept; an invalid header or field is ignored, never a reason to
// skip the record.
func TestTraceparentFromRecordHeader(t *testing.T) {
	b := kafkatest.NewBroker(t)
	p := kafkatest.NewProducer(t, b)
	s, c := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	withField := fmt.Appendf(nil, `{"tenantId":%q,"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05.678Z","traceparent":%q,"payload":{"seq":1}}`, kafkatest.Tenant, fieldTP)
	recs := []*kgo.Record{
		{Topic: kafkatest.Topic, Partition: 0, Value: withField, Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte(headerTP)}}},
		{Topic: kafkatest.Topic, Partition: 0, Value: withField},
		{Topic: kafkatest.Topic, Partition: 0, Value: kafkatest.EventJSON(kafkatest.Tenant, 3), Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("garbage")}}},
		{Topic: kafkatest.Topic, Partition: 0, Value: fmt.Appendf(nil, `{"tenantId":%q,"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05.678Z","traceparent":"garbage","payload":{"seq":4}}`, kafkatest.Tenant)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if n := c.Len(); n < 4 {
			return fmt.Errorf("%d delivered", n)
		}
		return nil
	})
	evs := c.Events[:4]                                        // written before Len counted them
	for i, want := range []string{headerTP, fieldTP, "", ""} { // a bad field: the event, without it
		if evs[i].Traceparent != want {
			t.Errorf("event %d traceparent %q, want %q", i, evs[i].Traceparent, want)
		}
	}
}

// An ingested event's trace context goes to the topic as the record's traceparent header too.
func TestPublishWritesTheTraceparentHeader(t *testing.T) {
	b := kafkatest.NewBroker(t)
	s, c := startSource(t, kafkatest.Config(b), nil)
	waitStarted(t, s, 3)
	in, err := source.DecodeEvent(fmt.Appendf(nil, `{"tenantId":%q,"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05.678Z","traceparent":%q,"payload":{"seq":1}}`, kafkatest.Tenant, headerTP))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(in.Event(kafkatest.Tenant)); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(kafkatest.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("no record read back")
		}
		var got string
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "traceparent" {
					got = string(h.Value)
				}
			}
		})
		if got != "" {
			if got != headerTP {
				t.Errorf("header %q", got)
			}
			break
		}
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if c.Len() < 1 {
			return fmt.Errorf("not delivered")
		}
		return nil
	})
}
