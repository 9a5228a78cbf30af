package adsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bytedance/sonic"

	"github.com/pushgate/pushgate/engine/source"
)

// Event-service sender defaults.
const (
	DefaultEventQueue    = 1024
	DefaultEventAttempts = 5
	DefaultEventBackoff  = 500 * time.Millisecond
	maxEventBackoff      = 30 * time.Second
)

// ErrEventQueueFull is Publish's error when the queue to the event service is full.
var ErrEventQueueFull = errors.New("adsp: event-service queue full")

// EventsConfig configures Events.
type EventsConfig struct {
	// Directory resolves EventServiceAPI (required).
	Directory *Directory
	// Token is the service-account token; nil = none.
	Token func(ctx context.Context) (string, error)
	// Queue bounds the events waiting to be sent; zero = DefaultEventQueue.
	Queue int
	// Attempts per event and the first Backoff (doubling, capped at 30 s); zero = the defaults.
	Attempts int
	Backoff  time.Duration
	// HTTPClient; nil = a client with a 10 s timeout. Logger; nil = discard.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Events sends pushgate's own domain events to the ADSP event service, the way the SDK's
// eventService.send does (POST <event-service v1>/events, Bearer service token, body
// {namespace, name, timestamp, tenantId, correlationId, context, payload}). It is a
// source.Publisher: Publish only enqueues (never blocks a webhook delivery); a full queue is an
// error the caller counts. Each event is retried with a doubling backoff; after the last attempt
// it is given up, counted and logged.
type Events struct {
	cfg EventsConfig
	hc  *http.Client
	log *slog.Logger

	queue chan *source.Event
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	sent, failed, dropped atomic.Uint64
}

var _ source.Publisher = (*Events)(nil)

// NewEvents validates cfg and starts the sender; Close stops it.
func NewEvents(cfg EventsConfig) (*Events, error) {
	if cfg.Directory == nil || !cfg.Directory.Has(EventServiceAPI) {
		return nil, errors.New("adsp: the event service needs --directory-url or --event-service-url")
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultEventQueue
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultEventAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultEventBackoff
	}
	e := &Events{cfg: cfg, hc: httpClientOrDefault(cfg.HTTPClient), log: loggerOrDiscard(cfg.Logger),
		queue: make(chan *source.Event, cfg.Queue), stop: make(chan struct{}), done: make(chan struct{})}
	go e.run()
	return e, nil
}

// Publish implements source.Publisher: it enqueues ev (without blocking) and returns no id.
func (e *Events) Publish(ev *source.Event) (string, error) {
	select {
	case e.queue <- ev:
		return "", nil
	default:
		e.dropped.Add(1)
		return "", ErrEventQueueFull
	}
}

// Stats returns the events sent, given up after every attempt, and refused because the queue was full.
func (e *Events) Stats() (sent, failed, dropped uint64) {
	return e.sent.Load(), e.failed.Load(), e.dropped.Load()
}

// Close stops the sender; events still queued are not sent (counted as dropped and logged).
func (e *Events) Close() {
	e.once.Do(func() {
		close(e.stop)
		<-e.done
		if n := len(e.queue); n > 0 {
			e.dropped.Add(uint64(n))
			e.log.Warn("event service: events not sent at shutdown", "count", n)
		}
	})
	<-e.done
}

func (e *Events) run() {
	defer close(e.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-e.stop; cancel() }()
	for {
		select {
		case <-e.stop:
			return
		case ev := <-e.queue:
			e.deliver(ctx, ev)
		}
	}
}

// deliver sends one event with retries; 4xx answers other than 408/429 are not retried.
func (e *Events) deliver(ctx context.Context, ev *source.Event) {
	body, err := eventBody(ev)
	if err != nil {
		e.failed.Add(1)
		e.log.Error("event service: event not sent (cannot encode)", "event", ev.Namespace+":"+ev.Name, "error", err)
		return
	}
	backoff := e.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err = e.post(ctx, body)
		if err == nil {
			e.sent.Add(1)
			return
		}
		var se *StatusError
		permanent := errors.As(err, &se) && se.Code >= 400 && se.Code < 500 && se.Code != 408 && se.Code != 429
		if permanent || attempt >= e.cfg.Attempts || ctx.Err() != nil {
			e.failed.Add(1)
			e.log.Error("event service: event given up", "event", ev.Namespace+":"+ev.Name,
				"tenant", ev.TenantID, "attempts", attempt, "error", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxEventBackoff)
	}
}

func (e *Events) post(ctx context.Context, body []byte) error {
	u, err := e.cfg.Directory.Resolve(ctx, EventServiceAPI, "v1/events")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if e.cfg.Token != nil {
		tok, err := e.cfg.Token(ctx)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	_, err = do(e.hc, req)
	return err
}

// eventBody is the event service's request body (apps/event-service/src/event/router/event.ts):
// a core caller names the tenant in tenantId.
func eventBody(ev *source.Event) ([]byte, error) {
	type body struct {
		Namespace     string          `json:"namespace"`
		Name          string          `json:"name"`
		Timestamp     string          `json:"timestamp"`
		TenantID      string          `json:"tenantId,omitempty"`
		CorrelationID string          `json:"correlationId,omitempty"`
		Context       json.RawMessage `json:"context,omitempty"`
		Payload       json.RawMessage `json:"payload"`
	}
	b := body{Namespace: ev.Namespace, Name: ev.Name, Timestamp: ev.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"),
		TenantID: ev.TenantID, CorrelationID: ev.CorrelationID, Context: raw(ev.JSON, "context"), Payload: raw(ev.JSON, "payload")}
	if b.Payload == nil {
		b.Payload = json.RawMessage("{}")
	}
	out, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return out, nil
}

func raw(obj []byte, key string) json.RawMessage {
	n, err := sonic.Get(obj, key)
	if err != nil {
		return nil
	}
	r, err := n.Raw()
	if err != nil || r == "null" {
		return nil
	}
	return json.RawMessage(r)
}
