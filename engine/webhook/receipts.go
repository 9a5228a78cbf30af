package webhook

import "sync"

// receiptWindow bounds the events whose webhook figures are kept (as the hub's receipts, the
// default history size).
const receiptWindow = 10000

// EventWebhooks are one event's webhook figures in this process: deliveries queued (one per
// matching webhook), delivered, and dead-lettered.
type EventWebhooks struct {
	Queued    int `json:"queued"`
	Delivered int `json:"delivered"`
	Dead      int `json:"dead"`
}

// eventReceipts keeps the figures of the last receiptWindow events that had webhooks.
type eventReceipts struct {
	mu   sync.Mutex
	byID map[string]*EventWebhooks
	ring []string
	next int
}

func (r *eventReceipts) update(eventID string, fn func(*EventWebhooks)) {
	if eventID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byID[eventID]
	if !ok {
		if r.byID == nil {
			r.byID, r.ring = map[string]*EventWebhooks{}, make([]string, receiptWindow)
		}
		if old := r.ring[r.next]; old != "" {
			delete(r.byID, old)
		}
		r.ring[r.next] = eventID
		r.next = (r.next + 1) % len(r.ring)
		e = &EventWebhooks{}
		r.byID[eventID] = e
	}
	fn(e)
}

// EventReceipt returns the webhook figures of an event, false when this process queued no
// webhook for it (or forgot it: receiptWindow events later).
func (s *Service) EventReceipt(eventID string) (EventWebhooks, bool) {
	s.receipts.mu.Lock()
	defer s.receipts.mu.Unlock()
	e, ok := s.receipts.byID[eventID]
	if !ok {
		return EventWebhooks{}, false
	}
	return *e, true
}
