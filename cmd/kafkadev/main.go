// Command kafkadev runs an in-process Kafka-protocol broker (franz-go's kfake) for development:
// the events topic (3 partitions) and the compacted configuration topic pushgate expects, on a
// fixed port. It is NOT a Kafka: production uses a real Kafka cluster (see docs/KAFKA.md).
//
//	kafkadev [--listen 127.0.0.1:9092] [--data-dir DIR] [--topic domain-events]
//	         [--config-topic pushgate.config] [--partitions 3]
//	kafkadev produce [--brokers 127.0.0.1:9092] [--topic domain-events] --tenant URN
//	         [--namespace demo] [--name hello] [--payload '{"msg":"hi"}'] [--count 1]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "produce" {
		err = produce(os.Args[2:])
	} else {
		err = serve(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkadev:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("kafkadev", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9092", "broker address (host:port; advertised as is)")
	dataDir := fs.String("data-dir", "", "persist the broker's data here (empty: in memory)")
	topic := fs.String("topic", "domain-events", "events topic")
	cfgTopic := fs.String("config-topic", "pushgate.config", "compacted configuration topic")
	partitions := fs.Int("partitions", 3, "partitions of the events topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, *listen) }),
		kfake.SeedTopics(int32(*partitions), *topic),
	}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	if err := createCompacted(addr, *cfgTopic); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, `kafkadev: kfake broker on %[1]s (development only; production uses a real Kafka cluster)
  topics: %[2]s (%[3]d partitions), %[4]s (1 partition, cleanup.policy=compact)

Run pushgate against it:
  pushgate serve --kafka-brokers %[1]s

Produce an event (value = the POST /event/v1/events body with tenantId as a tenant URN; key = tenantId):
  go run ./cmd/kafkadev produce --brokers %[1]s --tenant <tenant URN> --namespace demo --name hello --payload '{"msg":"hi"}'
or with kcat:
  echo '{"tenantId":"<tenant URN>","namespace":"demo","name":"hello","timestamp":"2026-01-02T03:04:05.678Z","payload":{"msg":"hi"}}' \
    | kcat -P -b %[1]s -t %[2]s -k '<tenant URN>'
(the tenant URNs are listed by GET /tenant/v2/tenants, or in the config topic: kcat -C -b %[1]s -t %[4]s -e)

Ctrl-C stops the broker.
`, addr, *topic, *partitions, *cfgTopic)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

// createCompacted creates the configuration topic with cleanup.policy=compact (kfake.SeedTopics
// takes no topic configs).
func createCompacted(addr, topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
	policy, compact := "cleanup.policy", "compact"
	cfg := kmsg.NewCreateTopicsRequestTopicConfig()
	cfg.Name, cfg.Value = policy, &compact
	rt.Configs = append(rt.Configs, cfg)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 5000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create %s: %w", topic, err)
		}
	}
	return nil
}

func produce(args []string) error {
	fs := flag.NewFlagSet("kafkadev produce", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated brokers")
	topic := fs.String("topic", "domain-events", "events topic")
	tenant := fs.String("tenant", "", "tenant URN (urn:ads:platform:tenant-service:v2:/tenants/<24 hex>); required")
	namespace := fs.String("namespace", "demo", "event namespace")
	name := fs.String("name", "hello", "event name")
	payload := fs.String("payload", `{}`, "payload JSON object")
	count := fs.Int("count", 1, "number of events (payload gets no sequence; use distinct runs for distinct payloads)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" {
		return errors.New("--tenant is required")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...), kgo.DefaultProduceTopic(*topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < *count; i++ {
		value := fmt.Appendf(nil, `{"tenantId":%q,"namespace":%q,"name":%q,"timestamp":%q,"payload":%s}`,
			*tenant, *namespace, *name, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), *payload)
		r := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(*tenant), Value: value})
		rec, err := r.First()
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "produced to %s/%d at offset %d\n", rec.Topic, rec.Partition, rec.Offset)
	}
	return nil
}
