package adsp_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/adsp"
	"github.com/pushgate/pushgate/engine/adsp/adsptest"
	"github.com/pushgate/pushgate/engine/source"

	"github.com/pushgate/pushgate/internal/waitfor"
)

// webhook-triggered events are posted to the event service with the service token, retried after
// failures; a full queue refuses at once (never blocks the caller).
func TestEventsPostedWithRetries(t *testing.T) {
	pf := adsptest.Start(t)
	tn := pf.AddTenant("Child Services")
	d, err := adsp.NewDirectory(adsp.DirectoryConfig{URL: pf.URL()})
	if err != nil {
		t.Fatal(err)
	}
	sa := serviceAccount(t, pf, adsptest.ClientSecret, 0)
	ev, err := adsp.NewEvents(adsp.EventsConfig{Directory: d, Token: sa.Token, Backoff: 10 * time.Millisecond, Attempts: 3, Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ev.Close)
	event := func(corr string) *source.Event {
		e := &source.Event{TenantID: tn.ID, Namespace: "push-service", Name: "webhook-triggered", Timestamp: time.Unix(1767225600, 0), CorrelationID: corr}
		e.JSON = source.AppendEventJSON(nil, tn.ID, e.Namespace, e.Name, e.Timestamp, corr, []byte(`{"name":"Hook"}`), []byte(`{"webhook":{"name":"Hook"}}`))
		return e
	}
	pf.FailEvents(2)
	if _, err := ev.Publish(event("c-1")); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 5*time.Second, "the condition", func() bool { return len(pf.Events()) == 1 })
	got := pf.Events()[0]
	b, _ := json.Marshal(got.Body)
	want := `{"context":{"name":"Hook"},"correlationId":"c-1","name":"webhook-triggered","namespace":"push-service","payload":{"webhook":{"name":"Hook"}},"tenantId":"` + tn.ID + `","timestamp":"2026-01-01T00:00:00.000Z"}`
	if string(b) != want || !strings.HasPrefix(got.Authorization, "Bearer svc-") {
		t.Fatalf("posted %s (%q), want %s with the service token", b, got.Authorization, want)
	}

	pf.FailEvents(100)
	if _, err := ev.Publish(event("c-2")); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 5*time.Second, "the condition", func() bool { _, failed, _ := ev.Stats(); return failed == 1 })

	// Queue of one: a burst past it is refused without blocking.
	var refused int
	for range 50 {
		if _, err := ev.Publish(event("burst")); errors.Is(err, adsp.ErrEventQueueFull) {
			refused++
		}
	}
	if _, _, dropped := ev.Stats(); refused == 0 || dropped != uint64(refused) {
		t.Fatalf("refused %d, dropped %d", refused, dropped)
	}
}
