package kafka

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pushgate/pushgate/engine/source"

	"github.com/pushgate/pushgate/internal/waitfor"
)

const (
	testTopic   = "domain-events"
	testCfgTop  = "pushgate.config"
	testTenant  = "urn:ads:platform:tenant-service:v2:/tenants/0123456789abcdef01234567"
	testTenant2 = "urn:ads:platform:tenant-service:v2:/tenants/fedcba9876543210fedcba98"
)

// broker is a kfake cluster on a fixed port with a data dir, so it can be stopped and restarted.
type broker struct {
	t    testing.TB
	port int
	dir  string
	mu   sync.Mutex
	c    *kfake.Cluster
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newBroker(t testing.TB) *broker {
	t.Helper()
	b := &broker{t: t, port: freePort(t), dir: t.TempDir()}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *broker) addr() string { return "127.0.0.1:" + strconv.Itoa(b.port) }

func (b *broker) start() {
	b.t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(b.port), kfake.DataDir(b.dir),
		kfake.SeedTopics(3, testTopic), kfake.SeedTopics(1, testCfgTop))
	if err != nil {
		b.t.Fatalf("kfake: %v", err)
	}
	b.mu.Lock()
	b.c = c
	b.mu.Unlock()
}

func (b *broker) stop() {
	b.mu.Lock()
	c := b.c
	b.c = nil
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (b *broker) cluster() *kfake.Cluster {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c
}

func testConfig(b *broker) Config {
	return Config{
		Brokers:           []string{b.addr()},
		MaxWait:           300 * time.Millisecond,
		BackoffMax:        500 * time.Millisecond,
		DiscoveryInterval: 200 * time.Millisecond,
		PublishTimeout:    2 * time.Second,
		ReadyWindow:       time.Second,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// producer is a franz-go client producing to explicit partitions.
type producer struct {
	t  testing.TB
	cl *kgo.Client
}

func newProducer(t testing.TB, b *broker) *producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RetryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &producer{t: t, cl: cl}
}

func eventJSON(tenant string, seq int) []byte {
	return fmt.Appendf(nil, `{"tenantId":%q,"namespace":"test","name":"seq","timestamp":"2026-01-02T03:04:05.678Z","payload":{"seq":%d}}`, tenant, seq)
}

// produce writes raw values to partition p and waits for the acks.
func (p *producer) produce(part int32, values ...[]byte) {
	p.t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: testTopic, Partition: part, Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		p.t.Fatalf("produce: %v", err)
	}
}

// seqs produces events with seq from..to-1, round-robin over 3 partitions.
func (p *producer) seqs(from, to int) {
	p.t.Helper()
	var byPart [3][][]byte
	for i := from; i < to; i++ {
		byPart[i%3] = append(byPart[i%3], eventJSON(testTenant, i))
	}
	for part, vs := range byPart {
		if len(vs) > 0 {
			p.produce(int32(part), vs...)
		}
	}
}

func (p *producer) addPartitions(total int32) {
	p.t.Helper()
	req := kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = testTopic, total
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	resp, err := req.RequestWith(context.Background(), p.cl)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, t := range resp.Topics {
		if t.ErrorCode != 0 {
			p.t.Fatalf("create partitions: code %d", t.ErrorCode)
		}
	}
}

// collector records delivered events.
type collector struct {
	mu   sync.Mutex
	evs  []*source.Event
	seqs []int
	at   []time.Time
}

func (c *collector) fn(ev *source.Event) {
	seq := seqOf(ev)
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.seqs = append(c.seqs, seq)
	c.at = append(c.at, time.Now())
	c.mu.Unlock()
}

func seqOf(ev *source.Event) int {
	// payload is {"seq":N} at the end of the canonical JSON
	j := ev.JSON
	i := bytes.LastIndexByte(j, ':')
	n, err := strconv.Atoi(string(j[i+1 : len(j)-2]))
	if err != nil {
		return -1
	}
	return n
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seqs)
}

func (c *collector) snapshot() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.seqs...)
}

// firstAt returns when seq was delivered (zero if not yet).
func (c *collector) firstAt(seq int) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.seqs {
		if s == seq {
			return c.at[i]
		}
	}
	return time.Time{}
}

// checkFor polls cond every 10 ms until it returns nil or the deadline passes.
func checkFor(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	waitfor.Check(t, d, cond) // the module's one polling helper (internal/waitfor)
}

// checkExactly verifies that got holds exactly the seqs [from, to), each once, and that each
// partition's seqs (seq % 3) are increasing.
func checkExactly(t testing.TB, got []int, from, to int) {
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

func startSource(t testing.TB, cfg Config, start Position) (*Source, *collector) {
	t.Helper()
	s, err := New(cfg, start)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := &collector{}
	s.Subscribe(c.fn)
	return s, c
}

// waitStarted waits until s is ready and has announced every partition in its position.
func waitStarted(t testing.TB, s *Source, parts int) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if err := s.Ready(); err != nil {
			return err
		}
		if n := len(s.Position()); n < parts {
			return fmt.Errorf("position has %d partitions", n)
		}
		return nil
	})
}
