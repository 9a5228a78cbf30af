package configsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/kafkatest"
	"github.com/pushgate/pushgate/engine/store"
)

func plainAuth(user, pass string) plain.Auth { return plain.Auth{User: user, Pass: pass} }

// startSync starts a ConfigSync with a store on cfg, without waiting.
func startSync(t *testing.T, cfg client.Config) (*store.Store, *ConfigSync) {
	t.Helper()
	cs, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{Replicate: cs.Replicate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close(); _ = st.Close() })
	cs.Start(st)
	return st, cs
}

func waitSyncReady(t *testing.T, cs *ConfigSync) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cs.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// The first deployment: three brokers, only the events topic, auto topic creation allowed.
// Two instances start at once; the configuration topic is created (by one of them; the other sees
// TOPIC_ALREADY_EXISTS) with the settings Kafka Connect would use, and both become ready and share
// a tenant.
func TestFreshClusterCreatesTheConfigTopic(t *testing.T) {
	k := kafkatest.NewCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(3, kafkatest.Topic), kfake.AllowAutoTopicCreation())
	var rec kafkatest.LogRecorder
	a, csA := startSync(t, k.Config(&rec))
	b, csB := startSync(t, k.Config(&rec))
	waitSyncReady(t, csA)
	waitSyncReady(t, csB)
	exists, parts, replicas, cfg := kafkatest.TopicInfo(t, k.Client, kafkatest.ConfigTopic, "cleanup.policy", "min.insync.replicas")
	if !exists || parts != 1 || replicas != 3 || cfg["cleanup.policy"] != "compact" || cfg["min.insync.replicas"] != "2" {
		t.Fatalf("config topic: exists %v, %d partitions, %d replicas, configs %v", exists, parts, replicas, cfg)
	}
	if n := len(rec.Lines(slog.LevelInfo, "created the configuration topic")); n != 1 {
		t.Errorf("%d creation lines, want 1 (one instance creates, the other finds it)", n)
	}
	if n := len(rec.Lines(slog.LevelWarn, "not compacted")); n != 0 {
		t.Errorf("compaction warning on a topic pushgate created")
	}
	acme, err := a.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.CheckFor(t, 5*time.Second, func() error {
		if got, ok := b.ResolveTenant("acme"); !ok || got.ID != acme.ID {
			return fmt.Errorf("B has %+v", got)
		}
		return nil
	})
}

// No topic at all, one broker, auto-creation off (kfake's default): the configuration topic is
// created with replication factor 1 and min.insync.replicas 1 (the events topic is the Source's:
// engine/source/kafka's TestNoTopicsEventsTopicMissingUntilCreated).
func TestNoTopicsConfigTopicCreatedOnOneBroker(t *testing.T) {
	k := kafkatest.NewCluster(t, kfake.NumBrokers(1))
	var rec kafkatest.LogRecorder
	cfg := k.Config(&rec)
	_, cs := startSync(t, cfg)
	waitSyncReady(t, cs)
	if exists, parts, replicas, c := kafkatest.TopicInfo(t, k.Client, kafkatest.ConfigTopic, "cleanup.policy", "min.insync.replicas"); !exists || parts != 1 ||
		replicas != 1 || c["cleanup.policy"] != "compact" || c["min.insync.replicas"] != "1" {
		t.Fatalf("config topic: exists %v, %d partitions, %d replicas, %v", exists, parts, replicas, c)
	}
}

// Creation refused by the cluster's ACLs: pushgate's user may describe, read and write topics but
// not create them. The sync stays not ready with the cause and the command, logs one ERROR line,
// and starts by itself once an administrator created the topic.
func TestConfigTopicCreationRefusedByACLs(t *testing.T) {
	allow := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "*", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	k := kafkatest.NewCluster(t, kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin"),
		kfake.User("PLAIN", "pushgate", "secret", allow(kmsg.ACLOperationDescribe), allow(kmsg.ACLOperationRead), allow(kmsg.ACLOperationWrite)),
		kfake.SeedTopics(3, kafkatest.Topic))
	admin := kafkatest.AdminClient(t, k.Fake, kgo.SASL(plainAuth("admin", "admin").AsMechanism()))
	k.Client = admin
	var rec kafkatest.LogRecorder
	cfg := k.Config(&rec)
	cfg.SASLMechanism, cfg.SASLUser, cfg.SASLPassword = "PLAIN", "pushgate", "secret"
	_, cs := startSync(t, cfg)
	te := kafkatest.TopicErrorOf(t, cs.Ready)
	want := "kafka-topics.sh --bootstrap-server " + cfg.Brokers[0] + " --command-config client.properties --create --topic pushgate.config --partitions 1 --replication-factor 1 --config cleanup.policy=compact --config min.insync.replicas=1"
	t.Logf("readiness reason: %v", te)
	if te.Role != "configuration" || te.Command != want || !strings.Contains(strings.ToLower(te.Error()), "authoriz") {
		t.Fatalf("topic error: %v\nwant command %s", te, want)
	}
	if err := cs.Starting(); err == nil {
		t.Fatal("Starting = nil while the topic is missing")
	}
	kafkatest.Retried(t, cs.tl, 4)
	if got := rec.Lines(slog.LevelError, `"pushgate.config" is missing`); len(got) != 1 || got[0].Attrs["cause"] == "" {
		t.Fatalf("ERROR lines: %+v", got)
	}
	if exists, _, _, _ := kafkatest.TopicInfo(t, admin, kafkatest.ConfigTopic); exists {
		t.Fatal("topic created despite the ACLs")
	}
	kafkatest.CreateTopic(t, admin, kafkatest.ConfigTopic, 1, map[string]string{"cleanup.policy": "compact"})
	waitSyncReady(t, cs)
}

// --kafka-create-topics=false: nothing is created; the reason names the flag.
func TestTopicCreationDisabled(t *testing.T) {
	k := kafkatest.NewCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(3, kafkatest.Topic), kfake.AllowAutoTopicCreation())
	var rec kafkatest.LogRecorder
	cfg := k.Config(&rec)
	cfg.DisableTopicCreation = true
	_, cs := startSync(t, cfg)
	te := kafkatest.TopicErrorOf(t, cs.Ready)
	if !errors.Is(te, client.ErrCreateDisabled) || !strings.Contains(te.Error(), "--kafka-create-topics=false") ||
		!strings.Contains(te.Command, "--topic pushgate.config --partitions 1 --replication-factor 1 --config cleanup.policy=compact") {
		t.Fatalf("topic error: %v", te)
	}
	kafkatest.Retried(t, cs.tl, 3)
	if exists, _, _, _ := kafkatest.TopicInfo(t, k.Client, kafkatest.ConfigTopic); exists {
		t.Fatal("config topic created with creation disabled")
	}
	if len(rec.Lines(slog.LevelError, `"pushgate.config" is missing`)) != 1 {
		t.Fatal("want one ERROR line")
	}
}

// A configuration topic that exists with cleanup.policy=delete: a WARN line with the command that
// fixes it, and the sync works anyway.
func TestConfigTopicNotCompactedWarns(t *testing.T) {
	k := kafkatest.NewCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(3, kafkatest.Topic))
	kafkatest.CreateTopic(t, k.Client, kafkatest.ConfigTopic, 1, map[string]string{"cleanup.policy": "delete"})
	var rec kafkatest.LogRecorder
	cfg := k.Config(&rec)
	a, csA := startSync(t, cfg)
	waitSyncReady(t, csA)
	got := rec.Lines(slog.LevelWarn, "not compacted")
	want := "kafka-configs.sh --bootstrap-server " + cfg.Brokers[0] + " --alter --entity-type topics --entity-name pushgate.config --add-config cleanup.policy=compact"
	if len(got) != 1 || got[0].Attrs["command"] != want || got[0].Attrs["cleanup.policy"] != "delete" {
		t.Fatalf("WARN lines: %+v", got)
	}
	acme, err := a.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	b, csB := startSync(t, cfg)
	waitSyncReady(t, csB)
	if got, ok := b.ResolveTenant("acme"); !ok || got.ID != acme.ID {
		t.Fatalf("second instance has %+v", got)
	}
}
