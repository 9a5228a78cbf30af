package adspevent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/source"
)

// Rejection reasons (metric label values).
const (
	ReasonMissingTenant  = "missing-tenant"
	ReasonUnknownTenant  = "unknown-tenant"
	ReasonInvalidBody    = "invalid-body"
	ReasonOversized      = "oversized"
	ReasonInvalidHeaders = "invalid-headers"
)

// Reasons lists every rejection reason.
var Reasons = []string{ReasonMissingTenant, ReasonUnknownTenant, ReasonInvalidBody, ReasonOversized, ReasonInvalidHeaders}

// maxNameLen bounds namespace and name (the event service accepts 1–50 characters).
const maxNameLen = 50

// Rejection explains why a message cannot become an event.
type Rejection struct {
	Reason string // one of Reasons
	Detail string
}

func (r *Rejection) Error() string { return "adspevent: " + r.Reason + ": " + r.Detail }

func reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// canonical are the headers that map to source.Event fields; the others are kept as extras.
var canonical = map[string]bool{"namespace": true, "name": true, "tenantId": true, "correlationId": true, "context": true, "timestamp": true}

// Convert builds the event of m (ID left empty). resolve maps the tenantId header to a tenant URN.
func Convert(m *rabbit.Message, resolve func(ref string) (string, bool)) (*source.Event, *Rejection) {
	if len(m.Body) > source.MaxEventBytes {
		return nil, reject(ReasonOversized, "body of %d bytes is over %d", len(m.Body), source.MaxEventBytes)
	}
	ref, ok := m.Headers["tenantId"].(string)
	if !ok || ref == "" {
		return nil, reject(ReasonMissingTenant, "no tenantId header")
	}
	tenant, ok := resolve(ref)
	if !ok {
		return nil, reject(ReasonUnknownTenant, "tenantId %q is not a known tenant", ref)
	}
	namespace, err := nameHeader(m.Headers, "namespace")
	if err != nil {
		return nil, err
	}
	name, err := nameHeader(m.Headers, "name")
	if err != nil {
		return nil, err
	}
	ts, err := timestampHeader(m.Headers["timestamp"])
	if err != nil {
		return nil, err
	}
	payload, rerr := compactBody(m.Body)
	if rerr != nil {
		return nil, rerr
	}
	correlationID := scalarString(m.Headers["correlationId"])
	var context []byte
	if v, ok := m.Headers["context"]; ok && v != nil {
		if context, err = jsonValue(v); err != nil {
			return nil, err
		}
	}
	// The canonical JSON, then the extra headers spliced in before "payload".
	js := source.AppendEventJSON(nil, tenant, namespace, name, ts, correlationID, context, nil)
	js = js[:len(js)-len(`,"payload":{}}`)]
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		if !canonical[k] && !brokerHeader(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, err := jsonValue(m.Headers[k])
		if err != nil {
			return nil, err
		}
		kb, _ := json.Marshal(k)
		js = append(append(append(append(js, ','), kb...), ':'), v...)
	}
	js = append(append(append(js, `,"payload":`...), payload...), '}')
	return &source.Event{TenantID: tenant, Namespace: namespace, Name: name, Timestamp: ts, CorrelationID: correlationID, JSON: js}, nil
}

func nameHeader(h map[string]any, key string) (string, *Rejection) {
	s, _ := h[key].(string)
	if s == "" {
		return "", reject(ReasonInvalidHeaders, "%s header missing", key)
	}
	if utf8.RuneCountInString(s) > maxNameLen {
		return "", reject(ReasonInvalidHeaders, "%s header over %d characters", key, maxNameLen)
	}
	return s, nil
}

func timestampHeader(v any) (time.Time, *Rejection) {
	switch x := v.(type) {
	case string:
		t, err := source.ParseTimestamp(x)
		if err != nil {
			return time.Time{}, reject(ReasonInvalidHeaders, "timestamp header %q is not ISO-8601", x)
		}
		return t, nil
	case time.Time: // an AMQP timestamp value (whole seconds)
		return x.UTC(), nil
	}
	return time.Time{}, reject(ReasonInvalidHeaders, "timestamp header missing")
}

func compactBody(body []byte) ([]byte, *Rejection) {
	if source.DepthExceeds(body, source.MaxEventDepth) {
		return nil, reject(ReasonInvalidBody, "body nests deeper than %d levels", source.MaxEventDepth)
	}
	var buf bytes.Buffer
	buf.Grow(len(body))
	if err := json.Compact(&buf, body); err != nil || buf.Len() == 0 {
		return nil, reject(ReasonInvalidBody, "body is not JSON")
	}
	return buf.Bytes(), nil
}

// scalarString reads correlationId: a string as is, a number or boolean in its JSON form (as the
// template literal of JavaScript would), anything else as absent.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// jsonValue encodes a header value as amqplib would hand it to JSON.stringify: tables as objects,
// arrays, numbers, strings, booleans, null; timestamps as ISO strings with milliseconds, byte
// arrays as base64.
func jsonValue(v any) ([]byte, *Rejection) {
	b, err := json.Marshal(jsonReady(v))
	if err != nil {
		return nil, reject(ReasonInvalidHeaders, "header value cannot be encoded: %v", err)
	}
	return b, nil
}

func jsonReady(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonReady(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonReady(e)
		}
		return out
	case time.Time:
		return x.UTC().Format(source.TimestampLayout)
	}
	return v
}

// brokerHeader reports the headers the broker adds on its own (x-delivery-count on a quorum
// queue's redelivery, x-death and x-first-death-*/x-last-death-* after dead-lettering): delivery
// metadata, not part of the event, left out of its JSON and of StableID's hash.
func brokerHeader(k string) bool { return strings.HasPrefix(k, "x-") }

// StableID is an id every instance derives alike for m: "amqp-" + the message id when set (ADSP's
// event service sets a UUIDv7 per event), else "amqp-h" + the first 32 hex digits of SHA-256
// over the routing key, the headers (in key order, timestamp included) and the body. Two
// identical events published within the same millisecond share the hash id; a redelivery, to
// any instance, always keeps it.
func StableID(m *rabbit.Message) string {
	if m.MessageID != "" {
		return "amqp-" + m.MessageID
	}
	h := sha256.New()
	h.Write([]byte(m.RoutingKey))
	h.Write([]byte{0})
	own := make(map[string]any, len(m.Headers))
	for k, v := range m.Headers {
		if !brokerHeader(k) {
			own[k] = v
		}
	}
	hb, _ := json.Marshal(jsonReady(own)) // map keys are sorted by encoding/json
	h.Write(hb)
	h.Write([]byte{0})
	h.Write(m.Body)
	return "amqp-h" + hex.EncodeToString(h.Sum(nil))[:32]
}
