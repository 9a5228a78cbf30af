package webhook

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pushgate/pushgate/engine/store"
)

// Endpoint state has two parts. The shared part — the secrets and the disabled flag — is the
// store's replicated webhook state (store.PutWebhookState): in Kafka mode every instance reads it
// from the config topic, so all sign with the same secret and a rotation, a disable or an enable
// made through one instance reaches all. A state is used for signing only once it is confirmed
// (read back from the topic), so an instance that lost a race to create a secret never signs with
// its own. The failure clock (failingSince) is each instance's own observation and stays in the
// local WebhookState bucket: it changes with every failure streak and needs no round trip.

// sharedState is the replicated part of endpointState.
type sharedState struct {
	Secret         string    `json:"secret"`
	Previous       string    `json:"previous,omitempty"`
	PreviousUntil  time.Time `json:"previousUntil,omitzero"`
	Disabled       bool      `json:"disabled,omitempty"`
	DisabledAt     time.Time `json:"disabledAt,omitzero"`
	DisabledReason string    `json:"disabledReason,omitempty"`
}

// localState is the per-instance part.
type localState struct {
	FailingSince time.Time `json:"failingSince,omitzero"`
}

// unconfirmedWait is how long a due delivery waits before it looks again at an endpoint whose
// state the config topic has not confirmed yet (normally a few milliseconds after creation).
const unconfirmedWait = 100 * time.Millisecond

// stateWrite is the shared state of a webhook that has none yet (new, or its state deleted),
// created under Service.mu and written by writeStates after it is released.
type stateWrite struct {
	ep      *endpoint
	version int64
	state   []byte
}

// readStateLocked reads ep's state from the store (with fresh, its failure clock too). When the
// webhook has no shared state yet, or its state was deleted, it returns the write that creates one
// (a new secret); ep stays unusable until writeStates stored it.
func (s *Service) readStateLocked(ep *endpoint, fresh bool) (*stateWrite, error) {
	if fresh {
		if v, err := s.cfg.Store.GetWebhook(store.WebhookState, ep.key); err != nil {
			return nil, fmt.Errorf("webhook: read failure clock of %q: %w", ep.sc.Hook.Key, err)
		} else if v != nil {
			_ = json.Unmarshal(v, &ep.st.localState) // an unreadable clock starts afresh
		}
	}
	raw, version, confirmed, err := s.cfg.Store.WebhookState(ep.key)
	if err != nil {
		return nil, fmt.Errorf("webhook: read state of %q: %w", ep.sc.Hook.Key, err)
	}
	if raw == nil && ep.writing {
		return nil, nil // its state is being written (writeStates)
	}
	if raw == nil {
		ep.st.sharedState = sharedState{Secret: newSecret()}
		ep.version, ep.confirmed, ep.usable = version, false, false
		return &stateWrite{ep: ep, version: version + 1, state: s.encodeShared(ep.key, ep.st.sharedState)}, nil
	}
	if version == ep.version && confirmed == ep.confirmed && ep.usable {
		return nil, nil
	}
	v, err := s.decodeShared(ep.key, raw)
	if err != nil || v.Secret == "" {
		// Never replaced by a new secret: that would take the webhook's secret from every instance
		// that can read it. The endpoint waits, unconfirmed, until the state opens here.
		ep.version, ep.confirmed, ep.usable = version, false, false
		return nil, fmt.Errorf("webhook: state of %q: %w", ep.sc.Hook.Key, cmp.Or(err, errors.New("no secret")))
	}
	ep.st.sharedState = v
	ep.version, ep.confirmed, ep.usable = version, confirmed, true
	return nil, nil
}

// writeStates stores the new shared states and deletes the removed webhooks' (for every
// instance: a webhook created again later gets a new secret), with no lock of the service held,
// then adopts what the store holds for the endpoints still configured.
func (s *Service) writeStates(creates []stateWrite, removed []string) error {
	var errs []error
	for _, w := range creates {
		if err := s.cfg.Store.PutWebhookState(w.ep.key, w.version, w.state); err != nil {
			// Another instance wrote one first: its state is adopted below (retry the action).
			errs = append(errs, fmt.Errorf("webhook: store state of %q: %w", w.ep.sc.Hook.Key, err))
		}
	}
	for _, k := range removed {
		if err := s.cfg.Store.DeleteWebhookState(k); err != nil {
			s.log.Error("webhook: could not delete the state of a removed webhook", "err", err)
		}
	}
	if len(creates) == 0 {
		return errors.Join(errs...)
	}
	s.mu.Lock() // the endpoints' fields below, and writing, are guarded by Service.mu
	defer s.mu.Unlock()
	for _, w := range creates {
		w.ep.writing = false
		if s.eps[w.ep.key] != w.ep {
			continue // removed meanwhile
		}
		if err := s.adoptStoredLocked(w.ep); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// putSharedLocked writes ep's shared state as the next version. When another instance wrote a
// newer one first, ep takes that one and the write is reported as a conflict (retry the action).
func (s *Service) putSharedLocked(ep *endpoint) error {
	if err := s.cfg.Store.PutWebhookState(ep.key, ep.version+1, s.encodeShared(ep.key, ep.st.sharedState)); err != nil {
		if rerr := s.adoptStoredLocked(ep); rerr != nil {
			return rerr
		}
		return fmt.Errorf("webhook: store state of %q: %w", ep.sc.Hook.Key, err)
	}
	return s.adoptStoredLocked(ep)
}

// putSharedUnlocked is putSharedLocked with Service.mu released across the store write, which
// replicates to the config topic (up to the publish timeout): matching, listing and the other
// endpoints' deliveries go on meanwhile. ep signs nothing until the store answered (confirmed is
// cleared), then adopts what the store holds. Service.mu is held on entry and on return; an
// endpoint removed meanwhile is left alone.
func (s *Service) putSharedUnlocked(ep *endpoint) error {
	key, version, state := ep.key, ep.version+1, s.encodeShared(ep.key, ep.st.sharedState)
	ep.confirmed = false
	s.mu.Unlock()
	err := s.cfg.Store.PutWebhookState(key, version, state)
	s.mu.Lock()
	if s.eps[key] != ep {
		return err
	}
	if aerr := s.adoptStoredLocked(ep); aerr != nil {
		return aerr
	}
	if err != nil {
		return fmt.Errorf("webhook: store state of %q: %w", ep.sc.Hook.Key, err)
	}
	return nil
}

// adoptStoredLocked sets ep's shared state, version and confirmation from the store.
func (s *Service) adoptStoredLocked(ep *endpoint) error {
	raw, version, confirmed, err := s.cfg.Store.WebhookState(ep.key)
	if err != nil {
		return fmt.Errorf("webhook: read state of %q: %w", ep.sc.Hook.Key, err)
	}
	ep.version, ep.confirmed, ep.usable = version, confirmed, false
	if raw == nil {
		return nil
	}
	v, err := s.decodeShared(ep.key, raw)
	if err != nil {
		ep.confirmed = false
		return fmt.Errorf("webhook: state of %q: %w", ep.sc.Hook.Key, err)
	}
	ep.st.sharedState, ep.usable = v, true
	return nil
}

// putLocalLocked writes ep's failure clock to this instance's store.
func (s *Service) putLocalLocked(ep *endpoint) {
	b, _ := json.Marshal(ep.st.localState)
	if err := s.cfg.Store.WriteWebhooks(store.WebhookBatch{Puts: []store.WebhookPut{{Bucket: store.WebhookState, Key: ep.key, Value: b}}}); err != nil {
		s.log.Error("webhook: could not store the failure clock", "webhook", ep.sc.Hook.Key, "err", err)
	}
}
