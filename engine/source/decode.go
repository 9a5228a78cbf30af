package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/bytedance/sonic"
)

// Ingest limits.
const (
	// MaxEventBytes is the largest accepted ingest body (1 MiB).
	MaxEventBytes = 1 << 20
	// MaxEventDepth is the deepest accepted nesting of objects and arrays; the body is level 1.
	MaxEventDepth = 32
	// maxNameLen bounds namespace and name (event-service: 1–50 characters).
	maxNameLen = 50
)

// ErrBodyTooLarge reports an ingest body over MaxEventBytes (HTTP 413).
var ErrBodyTooLarge = errors.New("source: event body larger than 1 MiB")

// InvalidEventError reports an ingest body that is not a valid event (HTTP 400). Reason is safe to
// return to the caller.
type InvalidEventError struct {
	Reason string
}

func (e *InvalidEventError) Error() string { return "source: invalid event: " + e.Reason }

func invalidEvent(format string, args ...any) error {
	return &InvalidEventError{Reason: fmt.Sprintf(format, args...)}
}

// Incoming is a validated ingest body, before the tenant is resolved.
type Incoming struct {
	Namespace     string
	Name          string
	Timestamp     time.Time // UTC
	CorrelationID string    // "" when absent
	// Context is the compacted context object; nil when absent.
	Context json.RawMessage
	// Payload is the compacted payload object.
	Payload json.RawMessage
	// TenantID is the tenant reference as sent (any accepted form); "" when absent.
	TenantID string
	// Traceparent is the W3C trace context ("" when absent): the body's "traceparent" field, which
	// a transport header replaces (SetTraceparent).
	Traceparent string
	// BadTraceparent reports a "traceparent" field that is not a W3C trace context; it is left
	// out of the event. HTTP ingest refuses such a body (ErrBadTraceparent); a broker source
	// delivers the event without it rather than lose it.
	BadTraceparent bool
}

// ErrBadTraceparent is the reason HTTP ingest gives for a body whose traceparent field is not a
// W3C trace context.
var ErrBadTraceparent = &InvalidEventError{Reason: "traceparent must be a W3C trace context (00-<32 hex>-<16 hex>-<2 hex>)"}

var decodeAPI = sonic.Config{CopyString: true, ValidateString: true, CaseSensitive: true}.Froze()

type wireEvent struct {
	Namespace     sonic.NoCopyRawMessage `json:"namespace"`
	Name          sonic.NoCopyRawMessage `json:"name"`
	Timestamp     sonic.NoCopyRawMessage `json:"timestamp"`
	CorrelationID sonic.NoCopyRawMessage `json:"correlationId"`
	Context       sonic.NoCopyRawMessage `json:"context"`
	Payload       sonic.NoCopyRawMessage `json:"payload"`
	TenantID      sonic.NoCopyRawMessage `json:"tenantId"`
	Traceparent   sonic.NoCopyRawMessage `json:"traceparent"`
}

// DecodeEvent validates an ingest body. The returned Incoming does not alias body.
func DecodeEvent(body []byte) (*Incoming, error) {
	if len(body) > MaxEventBytes {
		return nil, ErrBodyTooLarge
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, invalidEvent("request body must be a JSON object")
	}
	if depthExceeds(body, MaxEventDepth) {
		return nil, invalidEvent("request body nests deeper than %d levels", MaxEventDepth)
	}
	var w wireEvent
	if err := decodeAPI.Unmarshal(body, &w); err != nil {
		return nil, invalidEvent("request body is not valid JSON")
	}
	in := &Incoming{}
	var err error
	if in.Namespace, err = nameField("namespace", w.Namespace); err != nil {
		return nil, err
	}
	if in.Name, err = nameField("name", w.Name); err != nil {
		return nil, err
	}
	ts, ok, err := stringField("timestamp", w.Timestamp)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalidEvent("timestamp is required")
	}
	if in.Timestamp, err = ParseTimestamp(ts); err != nil {
		return nil, invalidEvent("timestamp must be an ISO-8601 date-time")
	}
	if in.CorrelationID, _, err = stringField("correlationId", w.CorrelationID); err != nil {
		return nil, err
	}
	if in.TenantID, _, err = stringField("tenantId", w.TenantID); err != nil {
		return nil, err
	}
	if !isAbsent(w.Traceparent) {
		tp, _, err := stringField("traceparent", w.Traceparent)
		if err == nil && ValidTraceparent(tp) {
			in.Traceparent = tp
		} else {
			in.BadTraceparent = true
		}
	}
	if isAbsent(w.Payload) {
		return nil, invalidEvent("payload is required")
	}
	if in.Payload, err = objectField("payload", w.Payload); err != nil {
		return nil, err
	}
	if !isAbsent(w.Context) {
		if in.Context, err = objectField("context", w.Context); err != nil {
			return nil, err
		}
		if err := scalarValues(in.Context); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func isAbsent(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

func stringField(field string, raw []byte) (string, bool, error) {
	if isAbsent(raw) {
		return "", false, nil
	}
	if s, ok := plainString(raw); ok {
		return s, true, nil
	}
	var s string
	if raw[0] != '"' || decodeAPI.Unmarshal(raw, &s) != nil {
		return "", false, invalidEvent("%s must be a string", field)
	}
	return s, true, nil
}

// plainString returns the value of a JSON string token of printable ASCII without escapes —
// what nearly every event's names, timestamps and ids are — without a decoder (sonic allocates
// one per call: six per event were a tenth of the ingest's allocations); ok=false leaves the
// others to sonic. FuzzPlainString holds the two together.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return "", false
		}
	}
	return string(body), true
}

func nameField(field string, raw []byte) (string, error) {
	s, ok, err := stringField(field, raw)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", invalidEvent("%s is required", field)
	}
	if utf8.RuneCountInString(s) > maxNameLen {
		return "", invalidEvent("%s must be at most %d characters", field, maxNameLen)
	}
	return s, nil
}

func objectField(field string, raw []byte) (json.RawMessage, error) {
	if raw[0] != '{' {
		return nil, invalidEvent("%s must be an object", field)
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return nil, invalidEvent("%s is not valid JSON", field)
	}
	return buf.Bytes(), nil
}

func scalarValues(ctx []byte) error {
	var m map[string]sonic.NoCopyRawMessage
	if err := decodeAPI.Unmarshal(ctx, &m); err != nil {
		return invalidEvent("context is not valid JSON")
	}
	for k, v := range m {
		if len(v) > 0 && (v[0] == '{' || v[0] == '[') {
			return invalidEvent("context value %q must be a string, number, boolean or null", k)
		}
	}
	return nil
}

// depthExceeds reports whether b nests objects/arrays deeper than limit. b need not be valid JSON.
func depthExceeds(b []byte, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// timestamp layouts accepted by ParseTimestamp, tried in order.
var timestampLayouts = []string{
	time.RFC3339Nano,                // 2026-01-02T03:04:05.678Z, …+02:00 (fraction optional)
	"2006-01-02T15:04:05.999999999", // no zone: UTC
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02", // date only: UTC midnight (as JavaScript's Date)
}

// ParseTimestamp parses an ISO-8601 date-time as accepted on ingest and returns it in UTC.
// Years outside 0000–9999 are rejected.
func ParseTimestamp(s string) (time.Time, error) {
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 0 || t.UTC().Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("source: timestamp %q is not ISO-8601", s)
}

// DepthExceeds reports whether b nests objects/arrays deeper than limit (the ingest rule, for the
// other intakes: RabbitMQ message bodies). b need not be valid JSON.
func DepthExceeds(b []byte, limit int) bool { return depthExceeds(b, limit) }
