package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/store"
)

// OpError is an operator-route failure with the HTTP status to answer.
type OpError struct {
	Status int
	Msg    string
}

func (e *OpError) Error() string { return "webhook: " + e.Msg }

// Message is the text shown to the caller.
func (e *OpError) Message() string { return e.Msg }

// HTTPStatus is the status the REST layer answers.
func (e *OpError) HTTPStatus() int { return e.Status }

var (
	errNotFound = &OpError{http.StatusNotFound, "Webhook not found."}
	errDisabled = &OpError{http.StatusConflict, "Webhook is disabled; enable it first."}
	errStore    = &OpError{http.StatusServiceUnavailable, "Store is not available."}
)

// EndpointView is one webhook in GET /push/v1/webhooks.
type EndpointView struct {
	Key              string     `json:"key"`
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	URL              string     `json:"url"`
	Disabled         bool       `json:"disabled"`
	DisabledAt       *time.Time `json:"disabledAt,omitempty"`
	DisabledReason   string     `json:"disabledReason,omitempty"`
	FailingSince     *time.Time `json:"failingSince,omitempty"`
	CircuitOpenUntil *time.Time `json:"circuitOpenUntil,omitempty"`
	Pending          int        `json:"pending"`
	InFlight         int        `json:"inFlight"`
	RateLimit        float64    `json:"rateLimit,omitempty"`
	Ordered          bool       `json:"ordered,omitempty"`
}

// DeadLetter is one entry of GET …/dead-letters.
type DeadLetter struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	DeadAt    time.Time `json:"deadAt"`
	Reason    string    `json:"reason"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError,omitempty"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Test      bool      `json:"test,omitempty"`
}

// SecretView is GET …/secret and the answer of a rotation.
type SecretView struct {
	Secret             string     `json:"secret"`
	Previous           string     `json:"previous,omitempty"`
	PreviousValidUntil *time.Time `json:"previousValidUntil,omitempty"`
}

func tptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// List returns the webhooks of a document (tenant URN, "" = core) with their delivery state.
func (s *Service) List(tenant string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []EndpointView{}
	counts := map[string]int{}
	for _, d := range s.pending {
		counts[d.Endpoint]++
	}
	for k, ep := range s.eps {
		if ep.sc.Tenant != tenant {
			continue
		}
		h := ep.sc.Hook
		v := EndpointView{Key: h.Key, ID: h.ID, Name: h.Name, URL: h.URL, Disabled: ep.st.Disabled,
			DisabledAt: tptr(ep.st.DisabledAt), DisabledReason: ep.st.DisabledReason, FailingSince: tptr(ep.st.FailingSince),
			Pending: counts[k], InFlight: ep.inflight, RateLimit: h.RateLimit, Ordered: h.Ordered}
		if time.Now().Before(ep.open) {
			v.CircuitOpenUntil = tptr(ep.open)
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (s *Service) endpointLocked(tenant, key string) (*endpoint, error) {
	ep := s.eps[endpointKey(tenant, key)]
	if ep == nil {
		return nil, errNotFound
	}
	return ep, nil
}

// Attempts returns up to limit recent attempts of a webhook, newest first.
func (s *Service) Attempts(tenant, key string, limit int) (any, error) {
	s.mu.Lock()
	_, err := s.endpointLocked(tenant, key)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	out, err := s.attemptLog(endpointKey(tenant, key), limit)
	if err != nil {
		return nil, errStore
	}
	return out, nil
}

func (s *Service) deadOf(ek string) ([]*delivery, error) {
	var out []*delivery
	err := s.cfg.Store.EachWebhook(store.WebhookDead, func(_ string, v []byte) error {
		d := &delivery{idx: -1}
		if json.Unmarshal(v, d) == nil && d.Endpoint == ek {
			out = append(out, d)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// DeadLetters lists a webhook's dead-lettered deliveries, oldest first.
func (s *Service) DeadLetters(tenant, key string) (any, error) {
	s.mu.Lock()
	_, err := s.endpointLocked(tenant, key)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ds, err := s.deadOf(endpointKey(tenant, key))
	if err != nil {
		return nil, errStore
	}
	out := make([]DeadLetter, 0, len(ds))
	for _, d := range ds {
		out = append(out, DeadLetter{ID: d.ID, Created: d.Created, DeadAt: d.DeadAt, Reason: d.DeadReason, Attempts: d.Attempts,
			LastError: d.LastError, Namespace: d.Trigger.Namespace, Name: d.Trigger.Name, Test: d.Test})
	}
	return out, nil
}

// Replay sends dead letters again with their original webhook-id and a fresh attempt budget: the
// ids given, or (ids empty) every dead letter created at or after since.
func (s *Service) Replay(tenant, key string, ids []string, since time.Time) (any, error) {
	s.mu.Lock()
	ep, err := s.endpointLocked(tenant, key)
	disabled := ep != nil && ep.st.Disabled
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if disabled {
		return nil, errDisabled
	}
	ek := endpointKey(tenant, key)
	ds, err := s.deadOf(ek)
	if err != nil {
		return nil, errStore
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	now := time.Now()
	var chosen []*delivery
	var puts []store.WebhookPut
	for _, d := range ds {
		if (len(ids) > 0 && !want[d.ID]) || (len(ids) == 0 && d.Created.Before(since)) {
			continue
		}
		d.Attempts, d.Due, d.DeadAt, d.DeadReason, d.LastError = 0, now, time.Time{}, "", ""
		b, _ := json.Marshal(d)
		puts = append(puts, store.WebhookPut{Bucket: store.WebhookDead, Key: d.ID},
			store.WebhookPut{Bucket: store.WebhookPending, Key: d.ID, Value: b})
		chosen = append(chosen, d)
	}
	if len(ids) > 0 && len(chosen) != len(want) {
		return nil, &OpError{http.StatusNotFound, "Some of the ids are not dead letters of this webhook."}
	}
	if err := s.enqueue(puts, chosen); err != nil {
		return nil, err
	}
	out := make([]string, len(chosen))
	for i, d := range chosen {
		out[i] = d.ID
	}
	return map[string]any{"replayed": out}, nil
}

func (s *Service) enqueue(puts []store.WebhookPut, ds []*delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if err := s.cfg.Store.WriteWebhooks(store.WebhookBatch{Puts: puts}); err != nil {
		return errStore
	}
	s.mu.Lock()
	for _, d := range ds {
		d.own = true
		s.addPendingLocked(d)
	}
	s.mu.Unlock()
	s.kick()
	return nil
}

// SendTest queues a push-service:webhook-test event to the webhook (delivered, signed and retried
// like any other).
func (s *Service) SendTest(tenant, key string) (any, error) {
	s.mu.Lock()
	ep, err := s.endpointLocked(tenant, key)
	var h *Hook
	if ep != nil {
		h = ep.sc.Hook
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	payload, _ := json.Marshal(map[string]any{"webhook": map[string]string{"id": h.ID, "name": h.Name, "url": h.URL}})
	ev := &source.Event{ID: randomID(), TenantID: tenant, Namespace: EmitNamespace, Name: "webhook-test", Timestamp: now}
	ev.JSON = source.AppendEventJSON(nil, tenant, ev.Namespace, ev.Name, now, "", nil, payload)
	d := newDelivery(ev.ID, endpointKey(tenant, key), ev, now)
	d.Test, d.Due = true, now
	b, _ := json.Marshal(d)
	if err := s.enqueue([]store.WebhookPut{{Bucket: store.WebhookPending, Key: d.ID, Value: b}}, []*delivery{d}); err != nil {
		return nil, err
	}
	return map[string]string{"deliveryId": d.ID}, nil
}

// Secret returns the webhook's signing secret(s).
func (s *Service) Secret(tenant, key string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, err := s.endpointLocked(tenant, key)
	if err != nil {
		return nil, err
	}
	if !ep.usable {
		return nil, errUnusable
	}
	return secretView(ep.st), nil
}

func secretView(st endpointState) SecretView {
	v := SecretView{Secret: st.Secret}
	if st.Previous != "" && time.Now().Before(st.PreviousUntil) {
		v.Previous, v.PreviousValidUntil = st.Previous, tptr(st.PreviousUntil)
	}
	return v
}

// RotateSecret replaces the secret; the previous one keeps signing (a second v1 signature) for
// Config.RotationOverlap.
func (s *Service) RotateSecret(tenant, key string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, err := s.endpointLocked(tenant, key)
	if err != nil {
		return nil, err
	}
	if !ep.usable { // a new secret would replace one the other instances can still read
		return nil, errUnusable
	}
	prev := ep.st
	ep.st.Previous, ep.st.PreviousUntil, ep.st.Secret = ep.st.Secret, time.Now().Add(s.cfg.RotationOverlap).UTC(), newSecret()
	if err := s.putSharedUnlocked(ep); err != nil {
		ep.st.sharedState = prev.sharedState
		return nil, stateWriteError(err)
	}
	return secretView(ep.st), nil
}

// Enable re-enables a disabled webhook and clears its failure clock and circuit.
func (s *Service) Enable(tenant, key string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, err := s.endpointLocked(tenant, key)
	if err != nil {
		return nil, err
	}
	if ep.st.Disabled {
		prev := ep.st
		ep.st.Disabled, ep.st.DisabledAt, ep.st.DisabledReason = false, time.Time{}, ""
		if err := s.putSharedUnlocked(ep); err != nil {
			ep.st.sharedState = prev.sharedState
			return nil, stateWriteError(err)
		}
	}
	ep.st.FailingSince = time.Time{}
	ep.fails, ep.open, ep.cooldown = 0, time.Time{}, s.cfg.BreakerCooldown
	s.putLocalLocked(ep)
	return map[string]bool{"disabled": false}, nil
}

// stateWriteError answers an operator action whose state write failed: 409 when another instance
// changed the webhook at the same moment (the caller retries), 503 when the config topic refused.
func stateWriteError(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &OpError{Status: http.StatusConflict, Msg: "The webhook was changed by another instance at the same time; retry."}
	}
	return &OpError{Status: http.StatusServiceUnavailable, Msg: "The webhook state could not be stored; retry later."}
}

// errUnusable answers secret routes for an endpoint whose stored state does not open here.
var errUnusable = &OpError{Status: http.StatusServiceUnavailable,
	Msg: "The webhook's secret cannot be read on this instance (its --webhook-secrets-key differs, or the state is not confirmed yet); nothing is sent to it from here."}
