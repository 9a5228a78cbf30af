package kafka

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/source"
)

// TestOutageReadinessAndLogs: when the broker goes away the source is not ready at once (well
// before ReadyWindow, set to a minute here), with the reason; a publish fails; the outage is
// logged once at its start (not once per failed request) and once at its end with its length.
func TestOutageReadinessAndLogs(t *testing.T) {
	b := kafkatest.NewBroker(t)
	var logs kafkatest.LogCapture
	cfg := kafkatest.Config(b)
	cfg.ReadyWindow = time.Minute
	cfg.PublishTimeout = 500 * time.Millisecond
	cfg.Logger = logs.Logger()
	s, _ := startSource(t, cfg, nil)
	waitStarted(t, s, 3)
	b.Stop()
	down := time.Now()
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if s.Ready() == nil {
			return fmt.Errorf("still ready %s into the outage", time.Since(down).Round(time.Millisecond))
		}
		return nil
	})
	notReady := time.Since(down)
	err := s.Ready()
	if !strings.Contains(err.Error(), "fails since") {
		t.Errorf("Ready: %v, want the outage and its reason", err)
	}
	if _, err := s.Publish(&source.Event{TenantID: kafkatest.Tenant, JSON: []byte(`{}`)}); err == nil {
		t.Error("publish succeeded with the broker down")
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if s.Stats().FetchErrors.Load() < 5 {
			return fmt.Errorf("%d failed requests so far", s.Stats().FetchErrors.Load())
		}
		return nil
	})
	b.Start()
	kafkatest.CheckFor(t, 15*time.Second, s.Ready)
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if n := len(logs.Lines("source recovered: reading")); n != 1 {
			return fmt.Errorf("%d recovered lines", n)
		}
		return nil
	})
	if l := logs.Lines("level=WARN", "source lost: reading topic "+kafkatest.Topic); len(l) != 1 {
		t.Errorf("reading outage start logged %d times, want 1:\n%s", len(l), logs.String())
	}
	if l := logs.Lines("level=WARN", "source lost: writing topic "+kafkatest.Topic); len(l) != 1 {
		t.Errorf("writing outage start logged %d times, want 1:\n%s", len(l), logs.String())
	}
	if l := logs.Lines("level=INFO", "source recovered: reading topic "+kafkatest.Topic, "outage="); len(l) != 1 {
		t.Errorf("recovery: %q", l)
	}
	if l := logs.Lines("level=WARN"); len(l) > 2 {
		t.Errorf("%d WARN lines for an outage of a few seconds with %d failed requests, want 2 (reading, writing lost):\n%s",
			len(l), s.Stats().FetchErrors.Load(), strings.Join(l, "\n"))
	}
	t.Logf("not ready %s after the broker stopped (ReadyWindow %s)", notReady.Round(time.Millisecond), cfg.ReadyWindow)
}
