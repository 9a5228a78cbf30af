package webhook

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/protocol/jsontext"
)

// triggeredPayload is ADSP's push-service:webhook-triggered payload, plus optional fields.
type triggeredPayload struct {
	Webhook struct {
		Name     string `json:"name"`
		URL      string `json:"url"`
		TargetID string `json:"targetId,omitempty"`
	} `json:"webhook"`
	Trigger struct {
		Namespace     string          `json:"namespace"`
		Name          string          `json:"name"`
		CorrelationID *string         `json:"correlationId"`
		Context       json.RawMessage `json:"context"`
	} `json:"trigger"`
	Response struct {
		Status     string  `json:"status"`
		StatusCode *int    `json:"statusCode"`
		Timestamp  *string `json:"timestamp"`
	} `json:"response"`
	ResponseTime float64 `json:"responseTime"`
	// pushgate additions (ADSP's schema allows extra fields)
	WebhookID  string `json:"webhookId"`
	DeliveryID string `json:"deliveryId"`
	Attempt    int    `json:"attempt"`
	Outcome    string `json:"outcome"`
}

// emitTriggered publishes push-service:webhook-triggered for one attempt: as ADSP for a response
// (status = status text, statusCode, the receiver's Date header, responseTime in ms), and — unlike
// ADSP since 2023 — also for timeouts and network errors, with statusCode null and status the
// outcome ("timeout", "network", "ssrf_blocked").
func (s *Service) emitTriggered(sc scoped, d *delivery, attempt int, r result, now time.Time) {
	if s.cfg.Publisher == nil || d.Trigger.TenantID == "" {
		return
	}
	var p triggeredPayload
	p.Webhook.Name, p.Webhook.URL, p.Webhook.TargetID = sc.Hook.Name, sc.Hook.URL, sc.Hook.TargetID
	p.Trigger.Namespace, p.Trigger.Name, p.Trigger.Context = d.Trigger.Namespace, d.Trigger.Name, d.Trigger.Context
	if d.Trigger.CorrelationID != "" {
		p.Trigger.CorrelationID = &d.Trigger.CorrelationID
	}
	if r.status != 0 {
		code := r.status
		p.Response.Status, p.Response.StatusCode = http.StatusText(code), &code
		if r.date != "" {
			p.Response.Timestamp = &r.date
		}
	} else {
		p.Response.Status = r.outcome
	}
	p.ResponseTime = float64(r.latency.Milliseconds())
	p.WebhookID, p.DeliveryID, p.Attempt, p.Outcome = sc.Hook.Key, d.ID, attempt, r.outcome
	corr := d.Trigger.CorrelationID
	if corr == "" {
		corr = sc.Hook.ID
	}
	buf := scratch.Get().(*[]byte)
	pb := p.appendJSON((*buf)[:0])
	s.publishRaw(d.Trigger.TenantID, TriggeredName, corr, sc.Hook.Name, pb, now)
	putScratch(buf, pb)
}

// scratch holds the buffers an event of pushgate's own is built in before it is copied into
// the event's JSON (once per attempt: the payload and the context were two allocations of
// ~700 B per delivery, BENCHMARKS.md §2d).
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxScratch bounds what the pool keeps: an event with a large context grows its buffer, which is
// then left to the collector rather than held.
const maxScratch = 64 << 10

func putScratch(buf *[]byte, used []byte) {
	if cap(used) > maxScratch {
		return
	}
	*buf = used[:0]
	scratch.Put(buf)
}

// appendJSON appends json.Marshal(p)'s document, written by hand because it runs once per
// attempt (encoding/json was ~8 % of the CPU per delivery at 100 webhooks per event;
// TestTriggeredPayloadMatchesMarshal holds the two together).
func (p *triggeredPayload) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"webhook":{"name":`...)
	dst = jsontext.AppendString(dst, p.Webhook.Name)
	dst = append(dst, `,"url":`...)
	dst = jsontext.AppendString(dst, p.Webhook.URL)
	if p.Webhook.TargetID != "" {
		dst = append(dst, `,"targetId":`...)
		dst = jsontext.AppendString(dst, p.Webhook.TargetID)
	}
	dst = append(dst, `},"trigger":{"namespace":`...)
	dst = jsontext.AppendString(dst, p.Trigger.Namespace)
	dst = append(dst, `,"name":`...)
	dst = jsontext.AppendString(dst, p.Trigger.Name)
	dst = append(dst, `,"correlationId":`...)
	dst = appendStringOrNull(dst, p.Trigger.CorrelationID)
	dst = append(dst, `,"context":`...)
	dst = appendRaw(dst, p.Trigger.Context)
	dst = append(dst, `},"response":{"status":`...)
	dst = jsontext.AppendString(dst, p.Response.Status)
	dst = append(dst, `,"statusCode":`...)
	if p.Response.StatusCode != nil {
		dst = appendInt(dst, *p.Response.StatusCode)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"timestamp":`...)
	dst = appendStringOrNull(dst, p.Response.Timestamp)
	dst = append(dst, `},"responseTime":`...)
	dst = strconv.AppendFloat(dst, p.ResponseTime, 'f', -1, 64) // whole milliseconds: as encoding/json writes them
	dst = append(dst, `,"webhookId":`...)
	dst = jsontext.AppendString(dst, p.WebhookID)
	dst = append(dst, `,"deliveryId":`...)
	dst = jsontext.AppendString(dst, p.DeliveryID)
	dst = append(dst, `,"attempt":`...)
	dst = appendInt(dst, p.Attempt)
	dst = append(dst, `,"outcome":`...)
	dst = jsontext.AppendString(dst, p.Outcome)
	return append(dst, '}')
}

func appendStringOrNull(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return jsontext.AppendString(dst, *s)
}

type disabledPayload struct {
	Webhook struct {
		ID   string `json:"id"`
		Key  string `json:"key"`
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"webhook"`
	Reason     string    `json:"reason"`
	DisabledAt time.Time `json:"disabledAt"`
}

// emitDisabled publishes push-service:webhook-disabled (correlationId = the webhook's id).
func (s *Service) emitDisabled(sc scoped, eventTenant, reason string, now time.Time) {
	tenant := sc.Tenant
	if tenant == "" {
		tenant = eventTenant
	}
	if s.cfg.Publisher == nil || tenant == "" {
		return
	}
	var p disabledPayload
	p.Webhook.ID, p.Webhook.Key, p.Webhook.Name, p.Webhook.URL = sc.Hook.ID, sc.Hook.Key, sc.Hook.Name, sc.Hook.URL
	p.Reason, p.DisabledAt = reason, now.UTC()
	s.publish(tenant, DisabledName, sc.Hook.ID, sc.Hook.Name, p, now)
}

func (s *Service) publish(tenant, name, correlationID, hookName string, payload any, now time.Time) {
	pb, err := json.Marshal(payload)
	if err != nil {
		return
	}
	s.publishRaw(tenant, name, correlationID, hookName, pb, now)
}

// publishRaw publishes an event of pushgate's own with the JSON payload pb; its context is
// {"name": the webhook's name}.
func (s *Service) publishRaw(tenant, name, correlationID, hookName string, pb []byte, now time.Time) {
	buf := scratch.Get().(*[]byte)
	ctx := append(jsontext.AppendString(append((*buf)[:0], `{"name":`...), hookName), '}')
	ev := &source.Event{TenantID: tenant, Namespace: EmitNamespace, Name: name, Timestamp: now.UTC(),
		CorrelationID: correlationID}
	ev.JSON = source.AppendEventJSON(make([]byte, 0, 160+len(tenant)+len(correlationID)+len(ctx)+len(pb)),
		tenant, EmitNamespace, name, ev.Timestamp, correlationID, ctx, pb)
	putScratch(buf, ctx)
	if _, err := s.cfg.Publisher.Publish(ev); err != nil {
		s.stats.emitErrors.Add(1)
		s.log.Debug("webhook: could not publish "+name, "err", err)
	}
}
