package webhook

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/pushgate/pushgate/engine/source"
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
	if p.Trigger.Context == nil {
		p.Trigger.Context = json.RawMessage("null")
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
	s.publish(d.Trigger.TenantID, TriggeredName, corr, sc.Hook.Name, p, now)
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
	ctx, _ := json.Marshal(map[string]string{"name": hookName})
	ev := &source.Event{TenantID: tenant, Namespace: EmitNamespace, Name: name, Timestamp: now.UTC(),
		CorrelationID: correlationID}
	ev.JSON = source.AppendEventJSON(nil, tenant, EmitNamespace, name, ev.Timestamp, correlationID, ctx, pb)
	if _, err := s.cfg.Publisher.Publish(ev); err != nil {
		s.stats.emitErrors.Add(1)
		s.log.Debug("webhook: could not publish "+name, "err", err)
	}
}
