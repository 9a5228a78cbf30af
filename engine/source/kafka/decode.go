package kafka

import (
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/source"
)

// DecodeRecord turns a record value into an event: source.DecodeEvent validation plus a required
// tenant. The Source and the Group (engine/kafka/group) share it, so one record becomes the same event in both. A
// valid "traceparent" record header wins over the value's field (the producer's latest span).
func DecodeRecord(c *client.Config, value []byte, headers []client.Header) (*source.Event, error) {
	in, err := source.DecodeEvent(value)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		if h.Key == traceparentHeader {
			in.SetTraceparent(string(h.Value))
		}
	}
	if in.TenantID == "" {
		return nil, &source.InvalidEventError{Reason: "tenantId is required"}
	}
	urn := in.TenantID
	if c.ResolveTenant != nil {
		var ok bool
		if urn, ok = c.ResolveTenant(in.TenantID); !ok {
			return nil, &source.InvalidEventError{Reason: "unknown tenant " + client.Truncate(in.TenantID, 80)}
		}
	} else if !tenantURNRE.MatchString(urn) {
		return nil, &source.InvalidEventError{Reason: "tenantId must be a tenant URN"}
	}
	return in.Event(urn), nil
}

// DecodeOrSkip decodes the record at (part, off) of the events topic; a malformed one is counted in
// st.DecodeErrors, logged (rate-limited) and answered with nil, for the caller to skip.
func DecodeOrSkip(c *client.Config, st *client.Stats, rl *client.RateLog, part int, off int64, value []byte, headers []client.Header) *source.Event {
	ev, err := DecodeRecord(c, value, headers)
	if err != nil {
		st.DecodeErrors.Add(1)
		rl.Warn("decode", "kafka: malformed record skipped", "topic", c.Topic, "partition", part,
			"offset", off, "error", err)
		return nil
	}
	return ev
}

// traceparentHeader is the record header carrying the W3C trace context.
const traceparentHeader = "traceparent"
