package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Fresh clusters. pushgate creates the configuration topic it owns when it is missing, as Kafka
// Connect and Schema Registry create their internal topics: compacted (each record is the whole
// tenant or document, so compaction keeps the full state), one partition (one order for every
// key), replication factor min(3, brokers) and min.insync.replicas min(2, RF). It never creates
// the events topic: its partition count and retention are the producers' decision. A topic that is
// missing (or that pushgate may not create) keeps the instance not ready with a *TopicError naming
// the exact command that fixes it, logged at ERROR once and then at most every TopicLogInterval.

// TopicLogInterval is the least time between two ERROR lines about the same missing topic.
const TopicLogInterval = time.Minute

// Partition count suggested for the events topic in the create command (the producers' choice).
const suggestedEventPartitions = 6

// errTopicMissing marks a metadata answer in which the topic does not exist.
var errTopicMissing = errors.New("topic does not exist")

// TopicError reports a topic pushgate needs that does not exist. Role is "events" or
// "configuration"; Cause says why pushgate did not create it (nil for the events topic, which it
// never creates); Command is the kafka-topics.sh invocation that creates it with the right
// settings.
type TopicError struct {
	Topic, Role string
	Cause       error
	Command     string
}

func (e *TopicError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kafka: %s topic %q does not exist", e.Role, e.Topic)
	if e.Cause != nil {
		fmt.Fprintf(&b, " and was not created (%v)", e.Cause)
	} else {
		b.WriteString(" (pushgate never creates it)")
	}
	b.WriteString("; create it with: ")
	b.WriteString(e.Command)
	return b.String()
}

func (e *TopicError) Unwrap() error { return e.Cause }

// ErrCreateDisabled is the Cause of a TopicError when Config.DisableTopicCreation is set.
var ErrCreateDisabled = errors.New("topic creation is disabled: --kafka-create-topics=false")

// replication returns the replication factor and min.insync.replicas for a cluster of n brokers.
func replication(brokers int) (rf, minISR int) {
	rf = min(3, max(brokers, 1))
	return rf, min(2, rf)
}

// createCommand is the kafka-topics.sh command that creates topic as pushgate wants it.
func (c *Config) createCommand(topic string, partitions, brokers int, compact bool) string {
	rf, isr := replication(brokers)
	var b strings.Builder
	fmt.Fprintf(&b, "kafka-topics.sh --bootstrap-server %s", c.Brokers[0])
	if c.needsCommandConfig() {
		b.WriteString(" --command-config client.properties")
	}
	fmt.Fprintf(&b, " --create --topic %s --partitions %d --replication-factor %d", topic, partitions, rf)
	if compact {
		b.WriteString(" --config cleanup.policy=compact")
	}
	fmt.Fprintf(&b, " --config min.insync.replicas=%d", isr)
	return b.String()
}

// compactCommand is the kafka-configs.sh command that makes topic compacted.
func (c *Config) compactCommand(topic string) string {
	cc := ""
	if c.needsCommandConfig() {
		cc = " --command-config client.properties"
	}
	return fmt.Sprintf("kafka-configs.sh --bootstrap-server %s%s --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact",
		c.Brokers[0], cc, topic)
}

// needsCommandConfig: with TLS or SASL the Kafka tools need the same settings in a properties file.
func (c *Config) needsCommandConfig() bool {
	return c.TLSCAFile != "" || c.TLSCertFile != "" || c.SASLMechanism != ""
}

// EventsTopicError explains a missing events topic.
func (c *Config) EventsTopicError(brokers int) *TopicError {
	return &TopicError{Topic: c.Topic, Role: "events",
		Command: c.createCommand(c.Topic, suggestedEventPartitions, brokers, false)}
}

// EnsureConfigTopic creates the configuration topic (called after a metadata answer without it).
// Another instance creating it at the same time counts as success. A refusal — creation disabled,
// no permission (ACLs), a policy or replication error — comes back as a *TopicError.
func (c *Config) EnsureConfigTopic(ctx context.Context, cn *Conns, brokers int) error {
	topic := c.ConfigTopic
	cmd := c.createCommand(topic, 1, brokers, true)
	if c.DisableTopicCreation {
		return &TopicError{Topic: topic, Role: "configuration", Cause: ErrCreateDisabled, Command: cmd}
	}
	rf, isr := replication(brokers)
	resp, err := cn.Client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
		Topic: topic, NumPartitions: 1, ReplicationFactor: rf,
		ConfigEntries: []kafkago.ConfigEntry{
			{ConfigName: "cleanup.policy", ConfigValue: "compact"},
			{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(isr)},
		},
	}}})
	if err == nil {
		err = resp.Errors[topic]
	}
	switch {
	case err == nil:
		c.Logger.Info("kafka: created the configuration topic", "topic", topic, "partitions", 1,
			"replicationFactor", rf, "cleanup.policy", "compact", "min.insync.replicas", isr)
		return nil
	case errors.Is(err, kafkago.TopicAlreadyExists):
		return nil
	case ctx.Err() != nil:
		return err
	}
	return &TopicError{Topic: topic, Role: "configuration", Cause: err, Command: cmd}
}

// CheckCompacted warns when the configuration topic exists with a cleanup policy other than
// compact: retention would then delete tenants and documents that instances starting later need.
// It cannot fail the start (the topic works; it just forgets), and a broker that refuses
// DescribeConfigs only gets a debug line.
func (c *Config) CheckCompacted(ctx context.Context, cn *Conns) {
	resp, err := cn.Client.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: c.ConfigTopic, ConfigNames: []string{"cleanup.policy"},
	}}})
	if err == nil && len(resp.Resources) == 1 {
		err = resp.Resources[0].Error
	}
	if err != nil || len(resp.Resources) != 1 {
		c.Logger.Debug("kafka: could not check the configuration topic's cleanup.policy", "topic", c.ConfigTopic, "error", err)
		return
	}
	for _, e := range resp.Resources[0].ConfigEntries {
		if e.ConfigName == "cleanup.policy" && !strings.Contains(e.ConfigValue, "compact") {
			c.Logger.Warn("kafka: the configuration topic is not compacted: retention will delete tenants and stream documents that instances starting later need; make it compacted with the command given",
				"topic", c.ConfigTopic, "cleanup.policy", e.ConfigValue, "command", c.compactCommand(c.ConfigTopic))
		}
	}
}

// TopicLog logs a *TopicError at ERROR: at once the first time (or when the message changes), then
// at most every interval, with the number of repeats suppressed in between.
type TopicLog struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
	msg      string
	dropped  int
}

// NewTopicLog logs missing-topic errors to log, repeated at most every TopicLogInterval.
func NewTopicLog(log *slog.Logger) *TopicLog {
	return &TopicLog{log: log, interval: TopicLogInterval}
}

// Report logs err at ERROR, at once when it is new and then at most every interval.
func (l *TopicLog) Report(err *TopicError) {
	msg := err.Error()
	now := time.Now()
	l.mu.Lock()
	if msg == l.msg && now.Sub(l.last) < l.interval {
		l.dropped++
		l.mu.Unlock()
		return
	}
	n := l.dropped
	l.last, l.msg, l.dropped = now, msg, 0
	l.mu.Unlock()
	args := []any{"topic", err.Topic, "command", err.Command}
	if err.Cause != nil {
		args = append(args, "cause", err.Cause.Error())
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.log.Error(fmt.Sprintf("kafka: the %s topic %q is missing; pushgate stays not ready until it exists (create it with the command given)", err.Role, err.Topic), args...)
}

// Suppressed returns the number of reports not logged since the last line.
func (l *TopicLog) Suppressed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Resolved logs once that a reported topic problem is gone.
func (l *TopicLog) Resolved(topic string) {
	l.mu.Lock()
	had := l.msg != ""
	l.msg, l.dropped = "", 0
	l.mu.Unlock()
	if had {
		l.log.Info("kafka: topic found; continuing the start", "topic", topic)
	}
}

// Starter is a Kafka component whose start can be waited for (the Source, the ConfigSync).
type Starter interface {
	// Starting reports why the component has not started yet, nil once it has.
	Starting() error
}

// StartupCheck returns the start-up gate of API writes for a Kafka-mode server: nil (no gate) when
// every part is nil (a nil interface or a nil pointer), else a func reporting why a part is still
// starting.
func StartupCheck(parts ...Starter) func() error {
	var live []Starter
	for _, p := range parts {
		if p != nil && !reflect.ValueOf(p).IsNil() { // a nil *Source is "no Kafka source"
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return func() error {
		errs := make([]error, 0, len(live))
		for _, p := range live {
			errs = append(errs, p.Starting())
		}
		return errors.Join(errs...)
	}
}
