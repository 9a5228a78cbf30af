package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
)

// No topic at all, one broker, auto-creation off (kfake's default): the events topic is not created;
// the source reports it, with the exact command, through Ready and Starting and one ERROR line;
// once the operator creates it the source starts by itself and delivers.
func TestNoTopicsEventsTopicMissingUntilCreated(t *testing.T) {
	k := kafkatest.NewCluster(t, kfake.NumBrokers(1))
	var rec kafkatest.LogRecorder
	cfg := k.Config(&rec)
	s, col := startSource(t, cfg, nil)
	te := kafkatest.TopicErrorOf(t, s.Ready)
	want := "kafka-topics.sh --bootstrap-server " + cfg.Brokers[0] + " --create --topic domain-events --partitions 6 --replication-factor 1 --config min.insync.replicas=1"
	if te.Role != "events" || te.Topic != kafkatest.Topic || te.Command != want || !strings.Contains(te.Error(), want) {
		t.Fatalf("topic error %+v\nwant command %s", te, want)
	}
	if err := s.Starting(); !errors.As(err, &te) {
		t.Fatalf("Starting = %v", err)
	}
	// Several retries later: still exactly one ERROR line, and still no events topic.
	first := rec.Lines(slog.LevelError, `"domain-events" is missing`)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := s.Stats().FetchErrors.Load(); n != 0 {
			return fmt.Errorf("a missing topic counted as %d fetch errors", n)
		}
		if len(first) == 0 {
			first = rec.Lines(slog.LevelError, `"domain-events" is missing`)
			return errors.New("no ERROR line yet")
		}
		return nil
	})
	kafkatest.Retried(t, s.tl, 4)
	if got := rec.Lines(slog.LevelError, `"domain-events" is missing`); len(got) != 1 || got[0].Attrs["command"] != want {
		t.Fatalf("ERROR lines about the events topic: %+v", got)
	}
	if exists, _, _, _ := kafkatest.TopicInfo(t, k.Client, kafkatest.Topic); exists {
		t.Fatal("pushgate created the events topic")
	}
	kafkatest.CreateTopic(t, k.Client, kafkatest.Topic, 3, nil)
	waitStarted(t, s, 3)
	if err := s.Starting(); err != nil {
		t.Fatalf("Starting after the topic appeared = %v", err)
	}
	p := &kafkatest.Producer{T: t, Client: kafkatest.AdminClient(t, k.Fake, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	p.Seqs(0, 6)
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		if n := col.Len(); n < 6 {
			return fmt.Errorf("%d of 6", n)
		}
		return nil
	})
	kafkatest.CheckExactly(t, col.Snapshot(), 0, 6)
	if len(rec.Lines(slog.LevelInfo, "topic found")) == 0 {
		t.Error("no line saying the start continues")
	}
}
