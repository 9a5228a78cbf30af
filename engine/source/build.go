package source

import (
	"time"

	"github.com/pushgate/pushgate/protocol/jsontext"
)

// TimestampLayout is the canonical timestamp form: UTC with milliseconds, as JavaScript's
// Date.prototype.toISOString.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// Event builds the immutable event for the resolved tenant URN. ID is left empty: the Publisher
// assigns it. The result does not alias in.
func (in *Incoming) Event(tenantURN string) *Event {
	ts := in.Timestamp.UTC()
	return &Event{
		TenantID:      tenantURN,
		Namespace:     in.Namespace,
		Name:          in.Name,
		Timestamp:     ts,
		CorrelationID: in.CorrelationID,
		Traceparent:   in.Traceparent,
		JSON: AppendTracedEventJSON(make([]byte, 0, eventJSONSize+len(tenantURN)+len(in.Namespace)+len(in.Name)+
			len(in.CorrelationID)+len(in.Context)+len(in.Traceparent)+len(in.Payload)),
			tenantURN, in.Namespace, in.Name, ts, in.CorrelationID, in.Context, in.Traceparent, in.Payload),
	}
}

// eventJSONSize is what an event's JSON takes besides its strings and documents: the member
// names, quotes and the timestamp (an event built from nil grew through six allocations).
const eventJSONSize = 160

// AppendEventJSON appends the canonical event JSON of an event without trace context; see
// AppendTracedEventJSON.
func AppendEventJSON(dst []byte, tenantURN, namespace, name string, ts time.Time, correlationID string, context, payload []byte) []byte {
	return AppendTracedEventJSON(dst, tenantURN, namespace, name, ts, correlationID, context, "", payload)
}

// AppendTracedEventJSON appends the canonical event JSON documented on Event.JSON to dst:
// {"tenantId","namespace","name","timestamp","correlationId"?,"context"?,"traceparent"?,"payload"}.
// correlationID "", a nil context and traceparent "" are omitted; context and payload must be valid compact JSON and are copied as is
// (a nil payload is written as {}).
func AppendTracedEventJSON(dst []byte, tenantURN, namespace, name string, ts time.Time, correlationID string, context []byte, traceparent string, payload []byte) []byte {
	dst = append(dst, `{"tenantId":`...)
	dst = appendString(dst, tenantURN)
	dst = append(dst, `,"namespace":`...)
	dst = appendString(dst, namespace)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, name)
	dst = append(dst, `,"timestamp":"`...)
	dst = ts.UTC().AppendFormat(dst, TimestampLayout)
	dst = append(dst, '"')
	if correlationID != "" {
		dst = append(dst, `,"correlationId":`...)
		dst = appendString(dst, correlationID)
	}
	if context != nil {
		dst = append(dst, `,"context":`...)
		dst = append(dst, context...)
	}
	if traceparent != "" {
		dst = append(dst, `,"traceparent":`...)
		dst = appendString(dst, traceparent)
	}
	dst = append(dst, `,"payload":`...)
	if payload == nil {
		payload = []byte("{}")
	}
	dst = append(dst, payload...)
	return append(dst, '}')
}

func appendString(dst []byte, s string) []byte { return jsontext.AppendString(dst, s) }
