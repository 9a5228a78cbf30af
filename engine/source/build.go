package source

import (
	"time"
	"unicode/utf8"
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
		JSON:          AppendEventJSON(nil, tenantURN, in.Namespace, in.Name, ts, in.CorrelationID, in.Context, in.Payload),
	}
}

// AppendEventJSON appends the canonical event JSON documented on Event.JSON to dst:
// {"tenantId","namespace","name","timestamp","correlationId"?,"context"?,"payload"}. correlationID ""
// and a nil context are omitted; context and payload must be valid compact JSON and are copied as is
// (a nil payload is written as {}).
func AppendEventJSON(dst []byte, tenantURN, namespace, name string, ts time.Time, correlationID string, context, payload []byte) []byte {
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
	dst = append(dst, `,"payload":`...)
	if payload == nil {
		payload = []byte("{}")
	}
	dst = append(dst, payload...)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way JSON.stringify does: only '"', '\\' and control
// characters are escaped (no HTML escaping, U+2028/U+2029 kept); invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, `\b`...)
		case '\f':
			dst = append(dst, `\f`...)
		case '\n':
			dst = append(dst, `\n`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\t':
			dst = append(dst, `\t`...)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
