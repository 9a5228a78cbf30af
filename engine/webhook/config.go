package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/pushgate/pushgate/engine/stream"
)

// ErrInvalidDocument is wrapped by every ValidateDocument error.
var ErrInvalidDocument = errors.New("webhook: invalid configuration document")

// DocumentKey is the key of the platform/push-service document that holds webhooks.
const DocumentKey = stream.WebhooksKey

var keyPattern = regexp.MustCompile(`^[a-zA-Z0-9-_ ]{1,50}$`)

// Hook is one configured webhook (a value of the document's "webhooks" map).
type Hook struct {
	// Key is the map key; it names the endpoint in the store and in the operator routes.
	Key         string
	ID          string
	Name        string
	URL         string
	Description string
	// TargetID set makes an app-status webhook: EventTypes and the payload's application decide.
	TargetID        string
	IntervalMinutes float64 // accepted, unused (status-service reads it, not push-service)
	EventTypes      []string
	Events          []Rule
	// RateLimit caps the attempts to this webhook per second (Svix's throttleRate); zero means
	// no cap. Deliveries held back wait, uncharged.
	RateLimit float64
	// Ordered sends one delivery at a time in event order: the next starts only after the previous
	// succeeded or was dead-lettered (a failing one holds the rest back while it is retried).
	Ordered bool
}

// maxRateLimit bounds rateLimit (a larger cap is no cap on one instance).
const maxRateLimit = 100000

// Rule is one events[] entry of a generic webhook. map is accepted and ignored, as in ADSP.
type Rule struct {
	Namespace, Name string
	Criteria        *stream.Criteria // nil = none
}

// ValidateDocument checks the "webhooks" key of a platform/push-service document and names the
// first bad field, e.g. `webhooks.hook-1.url: must be an absolute http:// or https:// URL`. A
// document without the key, `"webhooks": null` and null entries are valid (ADSP allows null for
// backwards compatibility). Other keys are streams (engine/stream validates them).
func ValidateDocument(doc []byte) error {
	_, err := parseDocument(doc)
	return err
}

// parseDocument returns the document's webhooks sorted by key.
func parseDocument(doc []byte) ([]*Hook, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "null" {
		return nil, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("%w: must be a JSON object", ErrInvalidDocument)
	}
	raw := top[DocumentKey]
	if isNull(raw) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: webhooks: must be an object or null", ErrInvalidDocument)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var hooks []*Hook
	for _, k := range keys {
		if isNull(m[k]) {
			continue
		}
		h, err := parseHook(k, m[k])
		if err != nil {
			return nil, fmt.Errorf("%w: webhooks.%s.%w", ErrInvalidDocument, k, err)
		}
		hooks = append(hooks, h)
	}
	return hooks, nil
}

type rawHook struct {
	ID, Name, URL, Description, TargetID, IntervalMinutes, EventTypes, Events json.RawMessage
	RateLimit                                                                 json.RawMessage `json:"rateLimit"`
	Ordered                                                                   json.RawMessage `json:"ordered"`
}

type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func bad(field, msg string) error { return &fieldError{field, msg} }

func parseHook(key string, v json.RawMessage) (*Hook, error) {
	if !keyPattern.MatchString(key) {
		return nil, bad("key", "must match ^[a-zA-Z0-9-_ ]{1,50}$")
	}
	var r rawHook
	if v[0] != '{' || json.Unmarshal(v, &r) != nil {
		return nil, bad("value", "must be an object or null")
	}
	h := &Hook{Key: key}
	var err error
	if h.ID, err = reqString(r.ID, "id"); err != nil {
		return nil, err
	}
	if h.Name, err = reqString(r.Name, "name"); err != nil {
		return nil, err
	}
	if h.URL, err = reqString(r.URL, "url"); err != nil {
		return nil, err
	}
	if u, perr := url.Parse(h.URL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("url", "must be an absolute http:// or https:// URL")
	}
	if !isNull(r.Description) && json.Unmarshal(r.Description, &h.Description) != nil {
		return nil, bad("description", "must be a string or null")
	}
	if !isNull(r.TargetID) && json.Unmarshal(r.TargetID, &h.TargetID) != nil {
		return nil, bad("targetId", "must be a string")
	}
	if !isNull(r.IntervalMinutes) && json.Unmarshal(r.IntervalMinutes, &h.IntervalMinutes) != nil {
		return nil, bad("intervalMinutes", "must be a number")
	}
	if !isNull(r.RateLimit) {
		if json.Unmarshal(r.RateLimit, &h.RateLimit) != nil || !(h.RateLimit > 0) || h.RateLimit > maxRateLimit {
			return nil, bad("rateLimit", fmt.Sprintf("must be a number of attempts per second, above 0 and at most %d", maxRateLimit))
		}
	}
	if !isNull(r.Ordered) && json.Unmarshal(r.Ordered, &h.Ordered) != nil {
		return nil, bad("ordered", "must be a boolean")
	}
	if !isNull(r.EventTypes) {
		var ets []json.RawMessage
		if json.Unmarshal(r.EventTypes, &ets) != nil {
			return nil, bad("eventTypes", "must be an array or null")
		}
		for i, et := range ets {
			var e struct{ ID json.RawMessage }
			if len(et) == 0 || et[0] != '{' || json.Unmarshal(et, &e) != nil {
				return nil, bad(fmt.Sprintf("eventTypes[%d]", i), "must be an object {id}")
			}
			id, err := reqString(e.ID, fmt.Sprintf("eventTypes[%d].id", i))
			if err != nil {
				return nil, err
			}
			if !strings.Contains(id, ":") {
				return nil, bad(fmt.Sprintf("eventTypes[%d].id", i), `must be "<namespace>:<name>"`)
			}
			h.EventTypes = append(h.EventTypes, id)
		}
	}
	if !isNull(r.Events) {
		var evs []json.RawMessage
		if json.Unmarshal(r.Events, &evs) != nil {
			return nil, bad("events", "must be an array or null")
		}
		for i, ev := range evs {
			rule, err := parseRule(ev)
			if err != nil {
				return nil, fmt.Errorf("events[%d].%w", i, err)
			}
			h.Events = append(h.Events, rule)
		}
	}
	return h, nil
}

func parseRule(v json.RawMessage) (Rule, error) {
	var r struct{ Namespace, Name, Map, Criteria json.RawMessage }
	if len(v) == 0 || v[0] != '{' || json.Unmarshal(v, &r) != nil {
		return Rule{}, bad("value", "must be an object")
	}
	var rule Rule
	var err error
	if rule.Namespace, err = reqString(r.Namespace, "namespace"); err != nil {
		return rule, err
	}
	if rule.Name, err = reqString(r.Name, "name"); err != nil {
		return rule, err
	}
	if !isNull(r.Criteria) {
		if r.Criteria[0] != '{' {
			return rule, bad("criteria", "must be an object")
		}
		if rule.Criteria, err = stream.ParseCriteria(r.Criteria); err != nil {
			msg := strings.TrimPrefix(err.Error(), stream.ErrInvalidCriteria.Error()+": ")
			return rule, bad("criteria", msg)
		}
	}
	return rule, nil
}

func reqString(raw json.RawMessage, field string) (string, error) {
	if isNull(raw) {
		return "", bad(field, "is required")
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", bad(field, "must be a string")
	}
	if s == "" {
		return "", bad(field, "must not be empty")
	}
	return s, nil
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// ValidateWith returns a document validator running streams (engine/stream.ValidateDocument) and
// then ValidateDocument, for store.Options.Validate.
func ValidateWith(streams func(doc []byte) error) func(doc []byte) error {
	return func(doc []byte) error {
		if err := streams(doc); err != nil {
			return err
		}
		return ValidateDocument(doc)
	}
}

// CheckDocument is the save-time half of the SSRF guard, for store.Options.ValidatePatch (local
// writes only: a document replicated from another instance, or stored before, is never refused by
// this instance's policy — the dial-time half still holds for it): a webhook URL whose host is an
// address literal g refuses is a 400 naming the field, e.g. `webhooks.a.url`.
func (g *Guard) CheckDocument(doc []byte) error {
	hooks, err := parseDocument(doc)
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if err := g.CheckURL(h.URL); err != nil {
			return fmt.Errorf("%w: webhooks.%s.url: must not address a loopback, private, link-local or other special-purpose address (%s)",
				ErrInvalidDocument, h.Key, strings.TrimPrefix(err.Error(), ErrBlockedAddress.Error()+": "))
		}
	}
	return nil
}
