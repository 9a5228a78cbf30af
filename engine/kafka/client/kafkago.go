package client

import (
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// The kafka-go names the other Kafka packages use. They are aliases, not wrappers: this package is
// the only importer of kafka-go (deps_test.go), so the dependency's version and every name taken
// from it are found here, while the source, the group, the replication and the directory keep
// kafka-go's own types (no copy of a record on the hot path).
type (
	Message               = kafkago.Message
	Header                = kafkago.Header
	Writer                = kafkago.Writer
	RequiredAcks          = kafkago.RequiredAcks
	Generation            = kafkago.Generation
	PartitionAssignment   = kafkago.PartitionAssignment
	ConsumerGroupConfig   = kafkago.ConsumerGroupConfig
	FetchRequest          = kafkago.FetchRequest
	OffsetFetchRequest    = kafkago.OffsetFetchRequest
	DescribeGroupsRequest = kafkago.DescribeGroupsRequest
	LoggerFunc            = kafkago.LoggerFunc
)

// Offsets, acknowledgement levels and the broker error codes the other packages test for.
const (
	FirstOffset = kafkago.FirstOffset
	LastOffset  = kafkago.LastOffset

	RequireAll = kafkago.RequireAll
	RequireOne = kafkago.RequireOne

	OffsetOutOfRange             = kafkago.OffsetOutOfRange
	GroupCoordinatorNotAvailable = kafkago.GroupCoordinatorNotAvailable
	IllegalGeneration            = kafkago.IllegalGeneration
	NotCoordinatorForGroup       = kafkago.NotCoordinatorForGroup
	RebalanceInProgress          = kafkago.RebalanceInProgress
	UnknownMemberId              = kafkago.UnknownMemberId //nolint:revive // kafka-go's spelling
)

// ErrGroupClosed is what a closed consumer group's Next answers.
var ErrGroupClosed = kafkago.ErrGroupClosed

// NewConsumerGroup joins a Kafka consumer group (kafka-go's ConsumerGroup).
func NewConsumerGroup(cfg ConsumerGroupConfig) (*kafkago.ConsumerGroup, error) {
	return kafkago.NewConsumerGroup(cfg)
}

// NewWriter returns a producer of topic on cn: keyed records go to murmur2(key) as with the Java
// client, each batch is sent at once (1 ms) and waits for acks, up to PublishTimeout per attempt.
func (c *Config) NewWriter(cn *Conns, topic string, acks RequiredAcks, attempts int) *Writer {
	return &kafkago.Writer{
		Addr:         kafkago.TCP(c.Brokers...),
		Topic:        topic,
		Balancer:     &kafkago.Murmur2Balancer{},
		RequiredAcks: acks,
		BatchTimeout: time.Millisecond,
		WriteTimeout: c.PublishTimeout,
		ReadTimeout:  c.PublishTimeout,
		MaxAttempts:  attempts,
		Transport:    cn.Transport,
	}
}
