package operator

import (
	"slices"
	"time"

	"github.com/pushgate/pushgate/engine/hub"
)

// InstanceReceipt is what became of an event in one process (GET /push/v1/events/{eventId}).
type InstanceReceipt struct {
	Instance    string `json:"instance"`
	TenantID    string `json:"tenantId"`
	Type        string `json:"type"`
	Traceparent string `json:"traceparent,omitempty"`
	// SourceRecord is the source's id of the event's record when it differs from the event id
	// (Kafka: partition and offset, as the webhook consumer group names the event).
	SourceRecord string     `json:"sourceRecord,omitempty"`
	Streams      []string   `json:"streams"`
	Subscribers  Figures    `json:"subscribers"`
	PublishedAt  time.Time  `json:"publishedAt"`
	FannedOutAt  *time.Time `json:"fannedOutAt,omitempty"`
	// Subject lists the live connections of the subject asked about (?sub=) that got the event.
	Subject []SubjectDelivery `json:"subjectConnections,omitempty"`
	// Webhooks are the event's webhook deliveries sent by this process, when it is another
	// instance answering (Kafka mode: the instance owning the event's partition sends them).
	Webhooks *WebhookFigures `json:"webhooks,omitempty"`
}

// Figures are subscriber counts: targeted (the stream scope and its criteria matched), delivered
// (queued to the connection) and dropped (the connection was closed, or too slow and closing).
type Figures struct {
	Targeted  int64 `json:"targeted"`
	Delivered int64 `json:"delivered"`
	Dropped   int64 `json:"dropped"`
	// DroppedSlow and DroppedClosed split Dropped: slow consumers (their queue passed its cap)
	// and connections closed already.
	DroppedSlow   int64 `json:"droppedSlowConsumer"`
	DroppedClosed int64 `json:"droppedClosed"`
}

// SubjectDelivery is one connection of the subject that got the event, and when (the end of the
// event's fan-out in its process, when the event was queued to it).
type SubjectDelivery struct {
	ID        string     `json:"id"`
	Stream    string     `json:"stream"`
	Transport string     `json:"transport"`
	Instance  string     `json:"instance"`
	At        *time.Time `json:"at,omitempty"`
}

// Receipt returns the receipt of the event with id in h (false when h has none: not seen, or
// beyond the history window). With sub set it lists sub's live connections that were subscribed to
// a matched stream before the event and whose criteria matched it.
func Receipt(h *hub.Hub, id, sub, instance string) (InstanceReceipt, bool) {
	r, ok := h.Receipt(id)
	if !ok {
		return InstanceReceipt{}, false
	}
	t, d, x, done := r.Figures()
	out := InstanceReceipt{Instance: instance, TenantID: r.TenantID, Type: r.Type(), Traceparent: r.Traceparent, SourceRecord: r.Origin,
		Streams: append([]string{}, r.Streams...), PublishedAt: r.At.UTC(),
		Subscribers: Figures{Targeted: t, Delivered: d, Dropped: x, DroppedSlow: r.DroppedSlow(), DroppedClosed: x - r.DroppedSlow()}}
	if !done.IsZero() {
		out.FannedOutAt = &done
	}
	if sub == "" {
		return out, true
	}
	var subs []*hub.Subscription
	h.Each(func(s *hub.Subscription) {
		if s.Principal != nil && s.Principal.Subject == sub && s.Received(r, func(stream string) bool { return slices.Contains(r.Streams, stream) }) {
			subs = append(subs, s)
		}
	})
	for _, s := range subs {
		if !h.Matched(r, s) {
			continue
		}
		out.Subject = append(out.Subject, SubjectDelivery{ID: s.Conn.ID, Stream: s.StreamID, Transport: s.Conn.Transport, Instance: instance, At: out.FannedOutAt})
	}
	return out, true
}

// WebhookFigures are an event's webhook deliveries: queued (one per matching webhook),
// delivered, dead-lettered.
type WebhookFigures struct {
	Queued    int `json:"queued"`
	Delivered int `json:"delivered"`
	Dead      int `json:"dead"`
}

// EventReceipt is the whole answer of GET /push/v1/events/{eventId}: every process's part and
// their sums.
type EventReceipt struct {
	EventID     string            `json:"eventId"`
	TenantID    string            `json:"tenantId"`
	Type        string            `json:"type"`
	TraceID     string            `json:"traceId,omitempty"`
	Traceparent string            `json:"traceparent,omitempty"`
	Streams     []string          `json:"streams"`
	Subscribers Figures           `json:"subscribers"`
	Webhooks    WebhookFigures    `json:"webhooks"`
	Instances   []InstanceReceipt `json:"instances"`
	Subject     *SubjectAnswer    `json:"subject,omitempty"`
}

// SubjectAnswer says whether the subject asked about (?sub=) got the event, on which of its live
// connections, and when.
type SubjectAnswer struct {
	Sub         string            `json:"sub"`
	Received    bool              `json:"received"`
	Connections []SubjectDelivery `json:"connections"`
}

// Sum joins the processes' receipts of one event (false when none has it) and the webhook
// figures of the process that sends them.
func Sum(id, sub string, parts []InstanceReceipt, wh WebhookFigures) (*EventReceipt, bool) {
	if len(parts) == 0 {
		return nil, false
	}
	slices.SortFunc(parts, func(a, b InstanceReceipt) int {
		switch {
		case a.Instance < b.Instance:
			return -1
		case a.Instance > b.Instance:
			return 1
		}
		return 0
	})
	r := &EventReceipt{EventID: id, TenantID: parts[0].TenantID, Type: parts[0].Type, Traceparent: parts[0].Traceparent,
		Webhooks: wh, Instances: parts, Streams: []string{}}
	if len(r.Traceparent) >= 35 {
		r.TraceID = r.Traceparent[3:35]
	}
	for _, p := range parts {
		if w := p.Webhooks; w != nil {
			r.Webhooks.Queued += w.Queued
			r.Webhooks.Delivered += w.Delivered
			r.Webhooks.Dead += w.Dead
		}
		r.Subscribers.Targeted += p.Subscribers.Targeted
		r.Subscribers.Delivered += p.Subscribers.Delivered
		r.Subscribers.Dropped += p.Subscribers.Dropped
		r.Subscribers.DroppedSlow += p.Subscribers.DroppedSlow
		r.Subscribers.DroppedClosed += p.Subscribers.DroppedClosed
		for _, s := range p.Streams {
			if !slices.Contains(r.Streams, s) {
				r.Streams = append(r.Streams, s)
			}
		}
	}
	if sub != "" {
		r.Subject = &SubjectAnswer{Sub: sub, Connections: []SubjectDelivery{}}
		for _, p := range parts {
			r.Subject.Connections = append(r.Subject.Connections, p.Subject...)
		}
		r.Subject.Received = len(r.Subject.Connections) > 0
	}
	return r, true
}
