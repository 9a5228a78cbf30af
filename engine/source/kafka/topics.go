package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// errCreateDisabled is the Cause of a TopicError when Config.DisableTopicCreation is set.
var errCreateDisabled = errors.New("topic creation is disabled: --kafka-create-topics=false")

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

// eventsTopicError explains a missing events topic.
func (c *Config) eventsTopicError(brokers int) *TopicError {
	return &TopicError{Topic: c.Topic, Role: "events",
		Command: c.createCommand(c.Topic, suggestedEventPartitions, brokers, false)}
}

// ensureConfigTopic creates the configuration topic (called after a metadata answer without it).
// Another instance creating it at the same time counts as success. A refusal — creation disabled,
// no permission (ACLs), a policy or replication error — comes back as a *TopicError.
func (c *Config) ensureConfigTopic(ctx context.Context, cn *conns, brokers int) error {
	topic := c.ConfigTopic
	cmd := c.createCommand(topic, 1, brokers, true)
	if c.DisableTopicCreation {
		return &TopicError{Topic: topic, Role: "configuration", Cause: errCreateDisabled, Command: cmd}
	}
	rf, isr := replication(brokers)
	resp, err := cn.client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
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

// checkCompacted warns when the configuration topic exists with a cleanup policy other than
// compact: retention would then delete tenants and documents that instances starting later need.
// It cannot fail the start (the topic works; it just forgets), and a broker that refuses
// DescribeConfigs only gets a debug line.
func (c *Config) checkCompacted(ctx context.Context, cn *conns) {
	resp, err := cn.client.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
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

// topicLog logs a *TopicError at ERROR: at once the first time (or when the message changes), then
// at most every interval, with the number of repeats suppressed in between.
type topicLog struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
	msg      string
	dropped  int
}

func (l *topicLog) report(err *TopicError) {
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

// suppressed returns the number of reports not logged since the last line.
func (l *topicLog) suppressed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// resolved logs once that a reported topic problem is gone.
func (l *topicLog) resolved(topic string) {
	l.mu.Lock()
	had := l.msg != ""
	l.msg, l.dropped = "", 0
	l.mu.Unlock()
	if had {
		l.log.Info("kafka: topic found; continuing the start", "topic", topic)
	}
}

// openTopic returns the bounds of the configuration topic, creating the topic when it is missing.
// It retries (with backoff) until the topic can be read, or returns ok=false once the sync is
// closed.
func (c *ConfigSync) openTopic() (offs map[int]bounds, ok bool) {
	for attempt := 1; ; attempt++ {
		offs, err := c.cn.offsets(c.ctx, c.cfg.ConfigTopic)
		if err == nil {
			c.tl.resolved(c.cfg.ConfigTopic)
			c.lastErr.Store(nil)
			ctx, cancel := context.WithTimeout(c.ctx, c.cfg.PublishTimeout)
			c.cfg.checkCompacted(ctx, c.cn)
			cancel()
			return offs, true
		}
		if c.ctx.Err() != nil {
			return nil, false
		}
		var mt *missingTopic
		var te *TopicError
		if errors.As(err, &mt) {
			err = c.cfg.ensureConfigTopic(c.ctx, c.cn, mt.brokers)
		}
		switch {
		case err == nil: // created, here or by another instance: look again shortly
			attempt = 0
		case errors.As(err, &te):
			c.tl.report(te)
		default:
			c.stats.FetchErrors.Add(1)
			c.rl.warn("metadata", "kafka: config topic unavailable, retrying", "topic", c.cfg.ConfigTopic, "error", err)
		}
		if err != nil {
			c.lastErr.Store(&err)
		}
		if !sleepCtx(c.ctx, backoff(max(attempt, 1), c.cfg.BackoffMax)) {
			return nil, false
		}
	}
}

// Starting reports why the configuration is not loaded yet: nil once the topic was read to the
// end once (later outages are not a start-up). API writes wait for it (StartupCheck).
func (c *ConfigSync) Starting() error {
	select {
	case <-c.ready:
		return nil
	default:
	}
	return c.Ready()
}

// Starting reports why the events topic is not being consumed yet (missing topic, brokers not
// answering): nil once the readers started. API writes wait for it (StartupCheck).
func (s *Source) Starting() error {
	if s.started.Load() {
		return nil
	}
	return s.Ready()
}

// StartupCheck returns the start-up gate of API writes for a Kafka-mode server: nil (no gate) when
// both are nil, else a func reporting why src or cs (either may be nil) is still starting.
func StartupCheck(src *Source, cs *ConfigSync) func() error {
	if src == nil && cs == nil {
		return nil
	}
	return func() error {
		var errs []error
		if cs != nil {
			errs = append(errs, cs.Starting())
		}
		if src != nil {
			errs = append(errs, src.Starting())
		}
		return errors.Join(errs...)
	}
}
