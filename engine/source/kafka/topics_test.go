package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/pushgate/pushgate/engine/store"
)

// logRecorder is a slog handler that keeps every record (level, message, attributes as text).
type logRecorder struct {
	mu   sync.Mutex
	recs []logLine
}

type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	l := logLine{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool { l.attrs[a.Key] = a.Value.String(); return true })
	r.mu.Lock()
	r.recs = append(r.recs, l)
	r.mu.Unlock()
	return nil
}

// lines returns the records at level whose message contains sub.
func (r *logRecorder) lines(level slog.Level, sub string) []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logLine
	for _, l := range r.recs {
		if l.level == level && strings.Contains(l.msg, sub) {
			out = append(out, l)
		}
	}
	return out
}

func plainAuth(user, pass string) plain.Auth { return plain.Auth{User: user, Pass: pass} }

// retried waits until l suppressed n repeated reports (pushgate's retries), so that a test can
// check what did not happen meanwhile.
func retried(t *testing.T, l *topicLog, n int) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if got := l.suppressed(); got < n {
			return fmt.Errorf("%d of %d retries", got, n)
		}
		return nil
	})
}

// cluster is a kfake cluster (ephemeral ports) plus a franz-go admin client on it.
type cluster struct {
	c  *kfake.Cluster
	cl *kgo.Client
}

func newCluster(t *testing.T, opts ...kfake.Opt) *cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &cluster{c: c, cl: adminClient(t, c)}
}

func adminClient(t *testing.T, c *kfake.Cluster, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.RetryTimeout(10 * time.Second)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (k *cluster) config(rec *logRecorder) Config {
	return Config{
		Brokers: k.c.ListenAddrs(), MaxWait: 300 * time.Millisecond, BackoffMax: 300 * time.Millisecond,
		DiscoveryInterval: 200 * time.Millisecond, PublishTimeout: 2 * time.Second, ReadyWindow: time.Second,
		Logger: slog.New(rec),
	}
}

// topic describes topic: partitions, replicas of partition 0 and the given configs; exists=false
// when the cluster does not have it.
func topicInfo(t *testing.T, cl *kgo.Client, topic string, configs ...string) (exists bool, parts, replicas int, cfg map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	md.Topics = append(md.Topics, mt)
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(mresp.Topics) != 1 || mresp.Topics[0].ErrorCode == kerr.UnknownTopicOrPartition.Code {
		return false, 0, 0, nil
	}
	parts = len(mresp.Topics[0].Partitions)
	replicas = len(mresp.Topics[0].Partitions[0].Replicas)
	dc := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, configs
	dc.Resources = append(dc.Resources, r)
	dresp, err := dc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	cfg = map[string]string{}
	for _, res := range dresp.Resources {
		for _, c := range res.Configs {
			if c.Value != nil {
				cfg[c.Name] = *c.Value
			}
		}
	}
	return true, parts, replicas, cfg
}

func createTopic(t *testing.T, cl *kgo.Client, topic string, parts int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, parts, -1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// startSync starts a ConfigSync with a store on cfg, without waiting.
func startSync(t *testing.T, cfg Config) (*store.Store, *ConfigSync) {
	t.Helper()
	cs, err := NewConfigSync(cfg)
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

// topicErrorOf waits until ready() reports a *TopicError and returns it.
func topicErrorOf(t *testing.T, ready func() error) *TopicError {
	t.Helper()
	var te *TopicError
	checkFor(t, 10*time.Second, func() error {
		if err := ready(); !errors.As(err, &te) {
			return fmt.Errorf("not a topic error yet: %v", err)
		}
		return nil
	})
	return te
}

// The first deployment: three brokers, only the events topic, auto topic creation allowed.
// Two instances start at once; the configuration topic is created (by one of them; the other sees
// TOPIC_ALREADY_EXISTS) with the settings Kafka Connect would use, and both become ready and share
// a tenant.
func TestFreshClusterCreatesTheConfigTopic(t *testing.T) {
	k := newCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(3, testTopic), kfake.AllowAutoTopicCreation())
	var rec logRecorder
	a, csA := startSync(t, k.config(&rec))
	b, csB := startSync(t, k.config(&rec))
	waitSyncReady(t, csA)
	waitSyncReady(t, csB)
	exists, parts, replicas, cfg := topicInfo(t, k.cl, testCfgTop, "cleanup.policy", "min.insync.replicas")
	if !exists || parts != 1 || replicas != 3 || cfg["cleanup.policy"] != "compact" || cfg["min.insync.replicas"] != "2" {
		t.Fatalf("config topic: exists %v, %d partitions, %d replicas, configs %v", exists, parts, replicas, cfg)
	}
	if n := len(rec.lines(slog.LevelInfo, "created the configuration topic")); n != 1 {
		t.Errorf("%d creation lines, want 1 (one instance creates, the other finds it)", n)
	}
	if n := len(rec.lines(slog.LevelWarn, "not compacted")); n != 0 {
		t.Errorf("compaction warning on a topic pushgate created")
	}
	acme, err := a.CreateTenant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if got, ok := b.ResolveTenant("acme"); !ok || got.ID != acme.ID {
			return fmt.Errorf("B has %+v", got)
		}
		return nil
	})
}

// No topic at all, one broker, auto-creation off (kfake's default): the configuration topic is
// created (replication factor 1), the events topic is not; the source reports it, with the exact
// command, through Ready and Starting and one ERROR line; once the operator creates it the source
// starts by itself and delivers.
func TestNoTopicsEventsTopicMissingUntilCreated(t *testing.T) {
	k := newCluster(t, kfake.NumBrokers(1))
	var rec logRecorder
	cfg := k.config(&rec)
	_, cs := startSync(t, cfg)
	waitSyncReady(t, cs)
	if exists, parts, replicas, c := topicInfo(t, k.cl, testCfgTop, "cleanup.policy", "min.insync.replicas"); !exists || parts != 1 ||
		replicas != 1 || c["cleanup.policy"] != "compact" || c["min.insync.replicas"] != "1" {
		t.Fatalf("config topic: exists %v, %d partitions, %d replicas, %v", exists, parts, replicas, c)
	}
	s, col := startSource(t, cfg, nil)
	te := topicErrorOf(t, s.Ready)
	want := "kafka-topics.sh --bootstrap-server " + cfg.Brokers[0] + " --create --topic domain-events --partitions 6 --replication-factor 1 --config min.insync.replicas=1"
	if te.Role != "events" || te.Topic != testTopic || te.Command != want || !strings.Contains(te.Error(), want) {
		t.Fatalf("topic error %+v\nwant command %s", te, want)
	}
	if err := s.Starting(); !errors.As(err, &te) {
		t.Fatalf("Starting = %v", err)
	}
	// Several retries later: still exactly one ERROR line, and still no events topic.
	first := rec.lines(slog.LevelError, `"domain-events" is missing`)
	checkFor(t, 10*time.Second, func() error {
		if n := s.Stats().FetchErrors.Load(); n != 0 {
			return fmt.Errorf("a missing topic counted as %d fetch errors", n)
		}
		if len(first) == 0 {
			first = rec.lines(slog.LevelError, `"domain-events" is missing`)
			return errors.New("no ERROR line yet")
		}
		return nil
	})
	retried(t, s.tl, 4)
	if got := rec.lines(slog.LevelError, `"domain-events" is missing`); len(got) != 1 || got[0].attrs["command"] != want {
		t.Fatalf("ERROR lines about the events topic: %+v", got)
	}
	if exists, _, _, _ := topicInfo(t, k.cl, testTopic); exists {
		t.Fatal("pushgate created the events topic")
	}
	createTopic(t, k.cl, testTopic, 3, nil)
	waitStarted(t, s, 3)
	if err := s.Starting(); err != nil {
		t.Fatalf("Starting after the topic appeared = %v", err)
	}
	p := &producer{t: t, cl: adminClient(t, k.c, kgo.RecordPartitioner(kgo.ManualPartitioner()))}
	p.seqs(0, 6)
	checkFor(t, 10*time.Second, func() error {
		if n := col.len(); n < 6 {
			return fmt.Errorf("%d of 6", n)
		}
		return nil
	})
	checkExactly(t, col.snapshot(), 0, 6)
	if len(rec.lines(slog.LevelInfo, "topic found")) == 0 {
		t.Error("no line saying the start continues")
	}
}

// Creation refused by the cluster's ACLs: pushgate's user may describe, read and write topics but
// not create them. The sync stays not ready with the cause and the command, logs one ERROR line,
// and starts by itself once an administrator created the topic.
func TestConfigTopicCreationRefusedByACLs(t *testing.T) {
	allow := func(op kmsg.ACLOperation) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "*", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	k := newCluster(t, kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin"),
		kfake.User("PLAIN", "pushgate", "secret", allow(kmsg.ACLOperationDescribe), allow(kmsg.ACLOperationRead), allow(kmsg.ACLOperationWrite)),
		kfake.SeedTopics(3, testTopic))
	admin := adminClient(t, k.c, kgo.SASL(plainAuth("admin", "admin").AsMechanism()))
	k.cl = admin
	var rec logRecorder
	cfg := k.config(&rec)
	cfg.SASLMechanism, cfg.SASLUser, cfg.SASLPassword = "PLAIN", "pushgate", "secret"
	_, cs := startSync(t, cfg)
	te := topicErrorOf(t, cs.Ready)
	want := "kafka-topics.sh --bootstrap-server " + cfg.Brokers[0] + " --command-config client.properties --create --topic pushgate.config --partitions 1 --replication-factor 1 --config cleanup.policy=compact --config min.insync.replicas=1"
	t.Logf("readiness reason: %v", te)
	if te.Role != "configuration" || te.Command != want || !strings.Contains(strings.ToLower(te.Error()), "authoriz") {
		t.Fatalf("topic error: %v\nwant command %s", te, want)
	}
	if err := cs.Starting(); err == nil {
		t.Fatal("Starting = nil while the topic is missing")
	}
	retried(t, cs.tl, 4)
	if got := rec.lines(slog.LevelError, `"pushgate.config" is missing`); len(got) != 1 || got[0].attrs["cause"] == "" {
		t.Fatalf("ERROR lines: %+v", got)
	}
	if exists, _, _, _ := topicInfo(t, admin, testCfgTop); exists {
		t.Fatal("topic created despite the ACLs")
	}
	createTopic(t, admin, testCfgTop, 1, map[string]string{"cleanup.policy": "compact"})
	waitSyncReady(t, cs)
}

// --kafka-create-topics=false: nothing is created; the reason names the flag.
func TestTopicCreationDisabled(t *testing.T) {
	k := newCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic), kfake.AllowAutoTopicCreation())
	var rec logRecorder
	cfg := k.config(&rec)
	cfg.DisableTopicCreation = true
	_, cs := startSync(t, cfg)
	te := topicErrorOf(t, cs.Ready)
	if !errors.Is(te, errCreateDisabled) || !strings.Contains(te.Error(), "--kafka-create-topics=false") ||
		!strings.Contains(te.Command, "--topic pushgate.config --partitions 1 --replication-factor 1 --config cleanup.policy=compact") {
		t.Fatalf("topic error: %v", te)
	}
	retried(t, cs.tl, 3)
	if exists, _, _, _ := topicInfo(t, k.cl, testCfgTop); exists {
		t.Fatal("config topic created with creation disabled")
	}
	if len(rec.lines(slog.LevelError, `"pushgate.config" is missing`)) != 1 {
		t.Fatal("want one ERROR line")
	}
}

// A configuration topic that exists with cleanup.policy=delete: a WARN line with the command that
// fixes it, and the sync works anyway.
func TestConfigTopicNotCompactedWarns(t *testing.T) {
	k := newCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic))
	createTopic(t, k.cl, testCfgTop, 1, map[string]string{"cleanup.policy": "delete"})
	var rec logRecorder
	cfg := k.config(&rec)
	a, csA := startSync(t, cfg)
	waitSyncReady(t, csA)
	got := rec.lines(slog.LevelWarn, "not compacted")
	want := "kafka-configs.sh --bootstrap-server " + cfg.Brokers[0] + " --alter --entity-type topics --entity-name pushgate.config --add-config cleanup.policy=compact"
	if len(got) != 1 || got[0].attrs["command"] != want || got[0].attrs["cleanup.policy"] != "delete" {
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
