package kafka

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/source"
)

// TestOutageReadinessAndLogs: when the broker goes away the source is not ready at once (well
// before ReadyWindow, set to a minute here), with the reason; a publish fails; the outage is
// logged once at its start (not once per failed request) and once at its end with its length.
func TestOutageReadinessAndLogs(t *testing.T) {
	b := newBroker(t)
	var logs logCapture
	cfg := testConfig(b)
	cfg.ReadyWindow = time.Minute
	cfg.PublishTimeout = 500 * time.Millisecond
	cfg.Logger = logs.logger()
	s, _ := startSource(t, cfg, nil)
	waitStarted(t, s, 3)
	b.stop()
	down := time.Now()
	checkFor(t, 5*time.Second, func() error {
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
	if _, err := s.Publish(&source.Event{TenantID: testTenant, JSON: []byte(`{}`)}); err == nil {
		t.Error("publish succeeded with the broker down")
	}
	checkFor(t, 5*time.Second, func() error {
		if s.Stats().FetchErrors.Load() < 5 {
			return fmt.Errorf("%d failed requests so far", s.Stats().FetchErrors.Load())
		}
		return nil
	})
	b.start()
	checkFor(t, 15*time.Second, s.Ready)
	checkFor(t, 5*time.Second, func() error {
		if n := len(logs.lines("source recovered: reading")); n != 1 {
			return fmt.Errorf("%d recovered lines", n)
		}
		return nil
	})
	if l := logs.lines("level=WARN", "source lost: reading topic "+testTopic); len(l) != 1 {
		t.Errorf("reading outage start logged %d times, want 1:\n%s", len(l), logs.String())
	}
	if l := logs.lines("level=WARN", "source lost: writing topic "+testTopic); len(l) != 1 {
		t.Errorf("writing outage start logged %d times, want 1:\n%s", len(l), logs.String())
	}
	if l := logs.lines("level=INFO", "source recovered: reading topic "+testTopic, "outage="); len(l) != 1 {
		t.Errorf("recovery: %q", l)
	}
	if l := logs.lines("level=WARN"); len(l) > 2 {
		t.Errorf("%d WARN lines for an outage of a few seconds with %d failed requests, want 2 (reading, writing lost):\n%s",
			len(l), s.Stats().FetchErrors.Load(), strings.Join(l, "\n"))
	}
	t.Logf("not ready %s after the broker stopped (ReadyWindow %s)", notReady.Round(time.Millisecond), cfg.ReadyWindow)
}

// TestOutageLogRate: an outage logs its start once, its continuation at most every
// OutageLogInterval (with the failed requests in between), and its end once with its length; a
// metadata answer ends it only when no request failed lately (a partition that still fails keeps
// it open: no lost/recovered flapping).
func TestOutageLogRate(t *testing.T) {
	var logs logCapture
	o := newOutage(logs.logger(), "reading topic x")
	t0 := time.Unix(1_700_000_000, 0)
	now := t0
	o.now = func() time.Time { return now }
	for i := range 100 { // a failed request every 100 ms for 10 s
		now = t0.Add(time.Duration(i) * 100 * time.Millisecond)
		o.fail("fetch", fmt.Errorf("refused"))
	}
	o.okIfQuiet(3 * time.Second) // the brokers answer metadata, but a reader failed just now
	if o.err() == nil {
		t.Fatal("ended by a metadata answer while a reader still fails")
	}
	now = t0.Add(OutageLogInterval + time.Second)
	o.fail("fetch", fmt.Errorf("refused"))
	now = now.Add(4 * time.Second)
	o.okIfQuiet(3 * time.Second)
	if err := o.err(); err != nil {
		t.Fatalf("still lost after a quiet metadata answer: %v", err)
	}
	if n := len(logs.lines("source lost: reading topic x")); n != 1 {
		t.Errorf("start logged %d times", n)
	}
	if l := logs.lines("source still lost", "failed_requests=100"); len(l) != 1 {
		t.Errorf("continuation: %q\n%s", l, logs.String())
	}
	if l := logs.lines("level=INFO", "source recovered", "outage=35s"); len(l) != 1 {
		t.Errorf("end: %q\n%s", l, logs.String())
	}
}
