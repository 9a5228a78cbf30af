package rabbit

import (
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Message is one delivery, its headers converted to plain Go values (see Headers).
type Message struct {
	RoutingKey    string
	ContentType   string
	MessageID     string
	CorrelationID string
	Timestamp     time.Time // zero when the publisher set none
	Redelivered   bool
	// Headers are the AMQP headers: nested tables as map[string]any, arrays as []any, integers as
	// int64, floats and decimals as float64, plus string, bool, time.Time, []byte and nil (void).
	Headers map[string]any
	Body    []byte

	tag    uint64
	reject bool
}

// Reject marks the message for rejection without requeue (the broker dead-letters it) instead of
// the ack given to the rest of its batch.
func (m *Message) Reject() { m.reject = true }

// Rejected reports whether Reject was called.
func (m *Message) Rejected() bool { return m.reject }

func newMessage(d *amqp.Delivery) *Message {
	return &Message{
		RoutingKey: d.RoutingKey, ContentType: d.ContentType, MessageID: d.MessageId,
		CorrelationID: d.CorrelationId, Timestamp: d.Timestamp, Redelivered: d.Redelivered,
		Headers: plainTable(d.Headers), Body: d.Body, tag: d.DeliveryTag,
	}
}

func plainTable(t amqp.Table) map[string]any {
	if t == nil {
		return nil
	}
	m := make(map[string]any, len(t))
	for k, v := range t {
		m[k] = plainValue(v)
	}
	return m
}

func plainValue(v any) any {
	switch x := v.(type) {
	case amqp.Table:
		return plainTable(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case amqp.Decimal:
		f := float64(x.Value)
		for i := uint8(0); i < x.Scale; i++ {
			f /= 10
		}
		return f
	default: // string, int64, float64, bool, time.Time, []byte, nil
		return x
	}
}

// amqpTable converts plain values (as Headers holds them, maps and slices of any) to a table.
func amqpTable(m map[string]any) amqp.Table {
	if m == nil {
		return nil
	}
	t := make(amqp.Table, len(m))
	for k, v := range m {
		t[k] = amqpValue(v)
	}
	return t
}

func amqpValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return amqpTable(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = amqpValue(e)
		}
		return out
	case int:
		return int64(x)
	default:
		return x
	}
}
