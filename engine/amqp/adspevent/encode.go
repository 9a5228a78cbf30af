package adspevent

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pushgate/pushgate/engine/amqp/rabbit"
	"github.com/pushgate/pushgate/engine/source"
)

// Encode is Convert's inverse for pushgate's own events (the HTTP ingest and
// push-service:webhook-triggered in AMQP mode): the message as the ADSP event service publishes it
// (apps/event-service/src/amqp/service.ts): routing key <namespace>.<name>.<tenant URN>, body =
// the payload JSON, headers namespace, name, tenantId, correlationId, context, timestamp and id, and
// a new message id (returned) — so every instance gets pushgate's events exactly as ADSP's.
// Unlike ADSP it publishes persistent messages, and does not dashify the names.
func Encode(ev *source.Event) (routingKey, messageID string, m rabbit.Outgoing, err error) {
	var w struct {
		Context map[string]any  `json:"context"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(ev.JSON, &w); err != nil {
		return "", "", m, fmt.Errorf("adspevent: encode: %w", err)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	messageID = hex.EncodeToString(b[:])
	h := map[string]any{
		"id": messageID, "namespace": ev.Namespace, "name": ev.Name, "tenantId": ev.TenantID,
		"timestamp": ev.Timestamp.UTC().Format(source.TimestampLayout),
	}
	if ev.CorrelationID != "" {
		h["correlationId"] = ev.CorrelationID
	}
	if w.Context != nil {
		h["context"] = w.Context
	}
	payload := []byte(w.Payload)
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	m = rabbit.Outgoing{ContentType: "application/json", MessageID: messageID, CorrelationID: ev.CorrelationID, Persistent: true, Headers: h, Body: payload}
	return ev.Namespace + "." + ev.Name + "." + ev.TenantID, messageID, m, nil
}
