package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pushgate/pushgate/engine"
	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/internal/waitfor"
)

// logCapture collects a server's log lines (text handler) for assertions.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// lines returns the captured lines containing every one of parts.
func (c *logCapture) lines(parts ...string) []string {
	c.mu.Lock()
	all := c.buf.String()
	c.mu.Unlock()
	var out []string
next:
	for _, l := range strings.Split(all, "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func waitLines(t *testing.T, c *logCapture, n int, parts ...string) {
	t.Helper()
	if waitfor.Bool(5*time.Second, func() bool { return len(c.lines(parts...)) == n }) != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("want %d lines with %q, log:\n%s", n, parts, c.buf.String())
	}
}

// TestReadinessChangesLogged: a readiness condition added to the server (as engine/cluster adds
// "joined the instance directory") turns /readyz 503 with its reason at once, and each change is
// logged once: from, to and why.
func TestReadinessChangesLogged(t *testing.T) {
	var logs logCapture
	e := e2eStart(t, func(c *engine.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	waitLines(t, &logs, 1, "level=INFO", "readiness changed", "from=starting", "to=ready")
	var failing atomic.Bool
	e.srv.AddReadyCheck(func() error {
		if failing.Load() {
			return errors.New("the instance directory lost this instance")
		}
		return nil
	})
	failing.Store(true)
	resp, err := http.Get(e.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(body.String(), "the instance directory lost this instance") {
		t.Fatalf("/readyz: %d %s, want 503 with the reason", resp.StatusCode, body.String())
	}
	waitLines(t, &logs, 1, "level=WARN", "readiness changed", "from=ready", "to=not-ready", `why="the instance directory lost this instance"`)
	failing.Store(false)
	waitLines(t, &logs, 1, "level=INFO", "readiness changed", "from=not-ready", "to=ready", "was=")
	if n := len(logs.lines("readiness changed")); n != 3 {
		t.Errorf("%d readiness lines, want 3 (one per change)", n)
	}
}

// TestKafkaOutageLogsOncePerComponent: during a broker outage each part of a Kafka-mode server
// (events reader, config topic reader, webhook group) says once that it lost the broker, and
// readiness once that it changed — not a line per failed request (5 a second before).
func TestKafkaOutageLogsOncePerComponent(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "domain-events"), kfake.SeedTopics(1, "pushgate.config"))
	if err != nil {
		t.Fatal(err)
	}
	var logs logCapture
	kc := client.Config{Brokers: c.ListenAddrs()}
	a := startInstance(t, engine.Config{Kafka: &kc, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	before := len(logs.lines("level=WARN"))
	c.Close()
	failed := func() float64 {
		m := regexp.MustCompile(`(?m)^pushgate_kafka_fetch_errors_total (\S+)$`).FindStringSubmatch(get(t, a.URL()+"/metrics", ""))
		if m == nil {
			return 0
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	waitfor.Check(t, 20*time.Second, func() error {
		if n := failed(); n < 15 { // the events reader alone has retried 15 times: seconds of outage
			return fmt.Errorf("only %v failed requests", n)
		}
		return nil
	})
	warns := logs.lines("level=WARN")[before:]
	for _, want := range []string{"source lost: reading topic domain-events", "source lost: reading topic pushgate.config", "source lost: webhook consumer group", "readiness changed"} {
		n := 0
		for _, l := range warns {
			if strings.Contains(l, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q logged %d times, want once", want, n)
		}
	}
	// An offset commit the webhook group had in flight when the broker went may fail too: once.
	commits := 0
	for _, l := range warns {
		if strings.Contains(l, "group offset commit failed") {
			commits++
		}
	}
	if len(warns)-commits > 4 || commits > 1 {
		t.Errorf("%d WARN lines after %v failed requests, want 4 (and at most one failed offset commit):\n%s", len(warns), failed(), strings.Join(warns, "\n"))
	}
}
