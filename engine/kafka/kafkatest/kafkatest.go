package kafkatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/internal/waitfor"
)

const (
	Topic       = "domain-events"
	ConfigTopic = "pushgate.config"
	Tenant      = "urn:ads:platform:tenant-service:v2:/tenants/0123456789abcdef01234567"
	Tenant2     = "urn:ads:platform:tenant-service:v2:/tenants/fedcba9876543210fedcba98"
)

// Broker is a kfake Cluster on a fixed port with a data dir, so it can be stopped and restarted.
type Broker struct {
	t    testing.TB
	port int
	dir  string
	mu   sync.Mutex
	c    *kfake.Cluster
}

func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func NewBroker(t testing.TB) *Broker {
	t.Helper()
	b := NewStoppedBroker(t)
	b.Start()
	return b
}

// NewStoppedBroker reserves a port and a data dir for a broker that Start starts later (a broker
// down when the client starts).
func NewStoppedBroker(t testing.TB) *Broker {
	t.Helper()
	b := &Broker{t: t, port: FreePort(t), dir: t.TempDir()}
	t.Cleanup(b.Stop)
	return b
}

func (b *Broker) Addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

func (b *Broker) Start() {
	b.t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(b.port), kfake.DataDir(b.dir),
		kfake.SeedTopics(3, Topic), kfake.SeedTopics(1, ConfigTopic))
	if err != nil {
		b.t.Fatalf("kfake: %v", err)
	}
	b.mu.Lock()
	b.c = c
	b.mu.Unlock()
}

func (b *Broker) Stop() {
	b.mu.Lock()
	c := b.c
	b.c = nil
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (b *Broker) Cluster() *kfake.Cluster {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c
}

func Config(b *Broker) client.Config {
	return client.Config{
		Brokers:           []string{b.Addr()},
		MaxWait:           300 * time.Millisecond,
		BackoffMax:        500 * time.Millisecond,
		DiscoveryInterval: 200 * time.Millisecond,
		PublishTimeout:    2 * time.Second,
		ReadyWindow:       time.Second,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// Producer is a franz-go client producing to explicit partitions.
type Producer struct {
	T      testing.TB
	Client *kgo.Client
}

func NewProducer(t testing.TB, b *Broker) *Producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RetryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &Producer{T: t, Client: cl}
}

func EventJSON(tenant string, seq int) []byte {
	return fmt.Appendf(nil, `{"tenantId":%q,"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05.678Z","payload":{"seq":%d}}`, tenant, seq)
}

// Produce writes raw values to partition p and waits for the acks.
func (p *Producer) Produce(part int32, values ...[]byte) {
	p.T.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: Topic, Partition: part, Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		p.T.Fatalf("produce: %v", err)
	}
}

// Seqs produces events with seq from..to-1, round-robin over 3 partitions.
func (p *Producer) Seqs(from, to int) {
	p.T.Helper()
	var byPart [3][][]byte
	for i := from; i < to; i++ {
		byPart[i%3] = append(byPart[i%3], EventJSON(Tenant, i))
	}
	for part, vs := range byPart {
		if len(vs) > 0 {
			p.Produce(int32(part), vs...)
		}
	}
}

func (p *Producer) AddPartitions(total int32) {
	p.T.Helper()
	req := kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = Topic, total
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(context.Background(), p.Client)
	if err != nil {
		p.T.Fatal(err)
	}
	for _, t := range resp.Topics {
		if t.ErrorCode != 0 {
			p.T.Fatalf("create partitions: code %d", t.ErrorCode)
		}
	}
}

// Collector records delivered events. Events and Seqs (each event's payload seq) are appended
// under a lock: read them once Len counted what is read.
type Collector struct {
	mu     sync.Mutex
	Events []*source.Event
	Seqs   []int
	at     []time.Time
}

func (c *Collector) Add(ev *source.Event) {
	seq := SeqOf(ev)
	c.mu.Lock()
	c.Events = append(c.Events, ev)
	c.Seqs = append(c.Seqs, seq)
	c.at = append(c.at, time.Now())
	c.mu.Unlock()
}

func SeqOf(ev *source.Event) int {
	// payload is {"seq":N} at the end of the canonical JSON
	j := ev.JSON
	i := bytes.LastIndexByte(j, ':')
	n, err := strconv.Atoi(string(j[i+1 : len(j)-2]))
	if err != nil {
		return -1
	}
	return n
}

func (c *Collector) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.Seqs)
}

func (c *Collector) Snapshot() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.Seqs...)
}

// FirstAt returns when seq was delivered (zero if not yet).
func (c *Collector) FirstAt(seq int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.Seqs {
		if s == seq {
			return c.at[i]
		}
	}
	return time.Time{}
}

// CheckFor polls cond until it returns nil or the deadline passes (the module's one polling
// helper, internal/waitfor).
func CheckFor(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	waitfor.Check(t, d, cond)
}

// CheckExactly verifies that got holds exactly the seqs [from, to), each once, and that each
// partition's seqs (seq % 3) are increasing.
func CheckExactly(t testing.TB, got []int, from, to int) {
	t.Helper()
	seen := map[int]int{}
	last := map[int]int{}
	for _, s := range got {
		seen[s]++
		if prev, ok := last[s%3]; ok && s <= prev {
			t.Errorf("partition %d out of order: %d after %d", s%3, s, prev)
		}
		last[s%3] = s
	}
	var lost, dup, extra []int
	for s := from; s < to; s++ {
		switch seen[s] {
		case 0:
			lost = append(lost, s)
		case 1:
		default:
			dup = append(dup, s)
		}
	}
	for s := range seen {
		if s < from || s >= to {
			extra = append(extra, s)
		}
	}
	if len(lost)+len(dup)+len(extra) > 0 {
		t.Fatalf("delivered %d: lost %v dup %v unexpected %v", len(got), lost, dup, extra)
	}
}

// LogCapture is a slog.Logger writing text lines into a buffer safe for concurrent use.
type LogCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *LogCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *LogCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *LogCapture) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(c, nil)) }

// Lines returns the captured lines containing every one of parts.
func (c *LogCapture) Lines(parts ...string) []string {
	var out []string
next:
	for _, l := range strings.Split(c.String(), "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// LogRecorder is a slog handler that keeps every record (level, message, attributes as text).
type LogRecorder struct {
	mu   sync.Mutex
	recs []LogLine
}

type LogLine struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (r *LogRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *LogRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *LogRecorder) WithGroup(string) slog.Handler            { return r }
func (r *LogRecorder) Handle(_ context.Context, rec slog.Record) error {
	l := LogLine{Level: rec.Level, Msg: rec.Message, Attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool { l.Attrs[a.Key] = a.Value.String(); return true })
	r.mu.Lock()
	r.recs = append(r.recs, l)
	r.mu.Unlock()
	return nil
}

// Lines returns the records at level whose message contains sub.
func (r *LogRecorder) Lines(level slog.Level, sub string) []LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LogLine
	for _, l := range r.recs {
		if l.Level == level && strings.Contains(l.Msg, sub) {
			out = append(out, l)
		}
	}
	return out
}

// Cluster is a kfake Cluster (ephemeral ports) plus a franz-go admin client on it.
type Cluster struct {
	Fake   *kfake.Cluster
	Client *kgo.Client
}

func NewCluster(t *testing.T, opts ...kfake.Opt) *Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &Cluster{Fake: c, Client: AdminClient(t, c)}
}

func AdminClient(t *testing.T, c *kfake.Cluster, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.RetryTimeout(10 * time.Second)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (k *Cluster) Config(rec *LogRecorder) client.Config {
	return client.Config{
		Brokers: k.Fake.ListenAddrs(), MaxWait: 300 * time.Millisecond, BackoffMax: 300 * time.Millisecond,
		DiscoveryInterval: 200 * time.Millisecond, PublishTimeout: 2 * time.Second, ReadyWindow: time.Second,
		Logger: slog.New(rec),
	}
}

// TopicErrorOf waits until ready() reports a *client.TopicError and returns it.
func TopicErrorOf(t *testing.T, ready func() error) *client.TopicError {
	t.Helper()
	var te *client.TopicError
	CheckFor(t, 10*time.Second, func() error {
		if err := ready(); !errors.As(err, &te) {
			return fmt.Errorf("not a topic error yet: %v", err)
		}
		return nil
	})
	return te
}

// Retried waits until l suppressed n repeated reports (pushgate's retries), so that a test can
// check what did not happen meanwhile.
func Retried(t *testing.T, l *client.TopicLog, n int) {
	t.Helper()
	CheckFor(t, 10*time.Second, func() error {
		if got := l.Suppressed(); got < n {
			return fmt.Errorf("%d of %d retries", got, n)
		}
		return nil
	})
}

// TopicInfo describes topic: partitions, replicas of partition 0 and the given configs; exists=false
// when the cluster does not have it.
func TopicInfo(t *testing.T, cl *kgo.Client, topic string, configs ...string) (exists bool, parts, replicas int, cfg map[string]string) {
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

func CreateTopic(t *testing.T, cl *kgo.Client, topic string, parts int32, configs map[string]string) {
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
