package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
)

// startSource starts a Source on cfg from start, delivering into a new collector.
func startSource(t testing.TB, cfg client.Config, start Position) (*Source, *kafkatest.Collector) {
	t.Helper()
	s, err := New(cfg, start)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := &kafkatest.Collector{}
	s.Subscribe(c.Add)
	return s, c
}

// waitStarted waits until s is ready and has announced every partition in its position.
func waitStarted(t testing.TB, s *Source, parts int) {
	t.Helper()
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if err := s.Ready(); err != nil {
			return err
		}
		if n := len(s.Position()); n < parts {
			return fmt.Errorf("position has %d partitions", n)
		}
		return nil
	})
}
