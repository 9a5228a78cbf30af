package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	kafkago "github.com/segmentio/kafka-go"
)

// Bounds are the first and the high-water offsets of one partition.
type Bounds struct{ First, Last int64 }

// Partitions returns the partition ids of topic, ascending. A topic that does not exist is an
// error wrapping errTopicMissing, as a *MissingTopic carrying the cluster's broker count.
func (cn *Conns) Partitions(ctx context.Context, topic string) ([]int, error) {
	md, err := cn.Client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata: %w", err)
	}
	missing := &MissingTopic{Topic: topic, Brokers: len(md.Brokers)}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if errors.Is(t.Error, kafkago.UnknownTopicOrPartition) {
			return nil, missing
		}
		if t.Error != nil {
			return nil, fmt.Errorf("kafka: metadata for %q: %w", topic, t.Error)
		}
		ids := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ids = append(ids, p.ID)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("kafka: topic %q has no partitions", topic)
		}
		slices.Sort(ids)
		return ids, nil
	}
	return nil, missing
}

// MissingTopic is Partitions' answer for a topic the cluster does not have.
type MissingTopic struct {
	Topic   string
	Brokers int // the cluster's broker count, for the kafka-topics.sh command
}

func (m *MissingTopic) Error() string { return fmt.Sprintf("kafka: topic %q does not exist", m.Topic) }
func (m *MissingTopic) Unwrap() error { return errTopicMissing }

// Offsets returns the bounds of every partition of topic. After an error it drops the transport's
// connection pools: kafka-go otherwise keeps answering with the cached dial error for about a
// second after the broker is back.
func (cn *Conns) Offsets(ctx context.Context, topic string) (map[int]Bounds, error) {
	out, err := cn.offsets1(ctx, topic)
	if err != nil {
		cn.Transport.CloseIdleConnections()
	}
	return out, err
}

func (cn *Conns) offsets1(ctx context.Context, topic string) (map[int]Bounds, error) {
	ids, err := cn.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	first, err := cn.ListOffsets(ctx, topic, ids, kafkago.FirstOffset)
	if err != nil {
		return nil, err
	}
	last, err := cn.ListOffsets(ctx, topic, ids, kafkago.LastOffset)
	if err != nil {
		return nil, err
	}
	out := make(map[int]Bounds, len(ids))
	for _, p := range ids {
		out[p] = Bounds{First: first[p], Last: last[p]}
	}
	return out, nil
}

// ListOffsets asks for one kind of offset (kafkago.FirstOffset or LastOffset) per partition. The
// requests are kept separate because kafka-go files the answer by the timestamp the broker echoes,
// which is not always the one requested; offsetOf picks the one field the answer filled.
func (cn *Conns) ListOffsets(ctx context.Context, topic string, ids []int, which int64) (map[int]int64, error) {
	reqs := make([]kafkago.OffsetRequest, len(ids))
	for i, p := range ids {
		reqs[i] = kafkago.OffsetRequest{Partition: p, Timestamp: which}
	}
	resp, err := cn.Client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("kafka: list offsets: %w", err)
	}
	out := make(map[int]int64, len(ids))
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("kafka: list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = offsetOf(po, which)
	}
	for _, p := range ids {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("kafka: list offsets: no answer for %s/%d", topic, p)
		}
	}
	return out, nil
}

func offsetOf(po kafkago.PartitionOffsets, which int64) int64 {
	for off := range po.Offsets {
		return off
	}
	if which == kafkago.FirstOffset {
		if po.LastOffset >= 0 {
			return po.LastOffset
		}
		return po.FirstOffset
	}
	if po.FirstOffset >= 0 {
		return po.FirstOffset
	}
	return po.LastOffset
}
