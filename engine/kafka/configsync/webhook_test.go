package configsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/store"
)

// topicRecords reads the whole config topic (one partition in these tests) in order.
func topicRecords(t *testing.T, b *kafkatest.Broker) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(kafkatest.ConfigTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	end := listEnd(t, cl)
	var out []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for int64(len(out)) < end {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d config records: %v", len(out), end, err)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// listEnd returns the config topic's end offset (partition 0).
func listEnd(t *testing.T, cl *kgo.Client) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = kafkatest.ConfigTopic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = 0, -1 // latest
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("list offsets: %+v", resp.Topics)
	}
	return resp.Topics[0].Partitions[0].Offset
}

// webhookStatesOf decodes the records of one endpoint key, in topic order.
func webhookStatesOf(t *testing.T, recs []*kgo.Record, key string) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		if string(r.Key) != store.KindWebhook+":"+key {
			continue
		}
		var rec store.Record
		var v struct {
			Version int64           `json:"version"`
			State   json.RawMessage `json:"state"`
		}
		if err := json.Unmarshal(r.Value, &rec); err != nil || json.Unmarshal(rec.Value, &v) != nil || rec.Key != key {
			t.Fatalf("bad record %q: %s", r.Key, r.Value)
		}
		out = append(out, fmt.Sprintf("v%d %s", v.Version, v.State))
	}
	return out
}

func TestConfigSyncWebhookStateFirstWins(t *testing.T) {
	b := kafkatest.NewBroker(t)
	a, _ := newInstance(t, b)
	// The key has ':' and '\n' and even starts like an instance announcement: it must round-trip.
	const key = "instance:core\nhook:a"

	// B writes its own version 1 before reading anything, as an instance that created a secret for
	// a new webhook at the same moment as A: both writes reach the topic, A's first.
	csB, err := New(kafkatest.Config(b))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := store.Open(t.TempDir(), store.Options{Replicate: csB.Replicate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = csB.Close(); _ = sb.Close() })

	if err := a.PutWebhookState(key, 1, []byte(`{"secret":"whsec_A"}`)); err != nil {
		t.Fatal(err)
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if _, _, ok, err := a.WebhookState(key); err != nil || !ok {
			return fmt.Errorf("A's state not confirmed (%v)", err)
		}
		return nil
	})
	if err := sb.PutWebhookState(key, 1, []byte(`{"secret":"whsec_B"}`)); err != nil {
		t.Fatal(err)
	}
	if st, _, ok, _ := sb.WebhookState(key); ok || string(st) != `{"secret":"whsec_B"}` {
		t.Fatalf("B before reading the topic: %s confirmed=%v", st, ok)
	}
	start := time.Now()
	csB.Start(sb)

	const winner = `{"secret":"whsec_A"}`
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		for name, s := range map[string]*store.Store{"A": a, "B": sb} {
			st, v, ok, err := s.WebhookState(key)
			if err != nil || string(st) != winner || v != 1 || !ok {
				return fmt.Errorf("%s: %s v%d confirmed=%v %v", name, st, v, ok, err)
			}
		}
		return nil
	})
	t.Logf("B converged on A's write after %s", time.Since(start).Round(time.Millisecond))

	// The topic holds A's record first, B's losing one, then a republished winner, so the record
	// compaction keeps (the last) is the winner too.
	kafkatest.CheckFor(t, 10*time.Second, func() error {
		got := webhookStatesOf(t, topicRecords(t, b), key)
		if len(got) < 3 || got[0] != "v1 "+winner || got[1] != `v1 {"secret":"whsec_B"}` || got[len(got)-1] != "v1 "+winner {
			return fmt.Errorf("topic records of the key: %q", got)
		}
		return nil
	})

	// A rotation through B reaches A; a deletion through A reaches B.
	if err := sb.PutWebhookState(key, 2, []byte(`{"secret":"whsec_C","previous":"whsec_A"}`)); err != nil {
		t.Fatal(err)
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if st, v, ok, _ := a.WebhookState(key); v != 2 || !ok || string(st) != `{"secret":"whsec_C","previous":"whsec_A"}` {
			return fmt.Errorf("A: %s v%d confirmed=%v", st, v, ok)
		}
		return nil
	})
	if err := a.DeleteWebhookState(key); err != nil {
		t.Fatal(err)
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if st, v, ok, _ := sb.WebhookState(key); st != nil || v != 3 || !ok {
			return fmt.Errorf("B: %s v%d confirmed=%v", st, v, ok)
		}
		return nil
	})

	// A third instance reading the topic agrees.
	c, _ := newInstance(t, b)
	if st, v, ok, _ := c.WebhookState(key); st != nil || v != 3 || !ok {
		t.Fatalf("C: %s v%d confirmed=%v", st, v, ok)
	}
	if err := c.PutWebhookState(key, 3, []byte(`{}`)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("C writing a stale version = %v", err)
	}
}
