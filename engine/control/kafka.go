package control

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushgate/pushgate/engine/kafka/client"
	"github.com/pushgate/pushgate/engine/kafka/configsync"
	"github.com/pushgate/pushgate/engine/metrics"
	"github.com/pushgate/pushgate/engine/source"
	"github.com/pushgate/pushgate/engine/source/kafka"
	"github.com/pushgate/pushgate/engine/store"
)

// kafkaSource is the events topic plus the configuration topic: ready when both are.
type kafkaSource struct {
	*kafka.Source
	sync *configsync.ConfigSync
}

func (k kafkaSource) Ready() error { return errors.Join(k.Source.Ready(), k.sync.Ready()) }

func (k kafkaSource) Close() {
	_ = k.Source.Close()
	_ = k.sync.Close()
}

// openKafka opens the store with replication through the configuration topic, and the events
// source; both follow their topics until Close.
func (p *Plane) openKafka(kc client.Config) error {
	if err := kc.Validate(); err != nil {
		return fmt.Errorf("control: kafka: %w", err)
	}
	kc.Logger = p.log
	csync, err := configsync.New(kc)
	if err != nil {
		return fmt.Errorf("control: kafka config topic: %w", err)
	}
	st, err := store.Open(p.cfg.DataDir, p.storeOptions(csync.Replicate))
	if err != nil {
		_ = csync.Close()
		return fmt.Errorf("control: %w", err)
	}
	st.OnOrder(p.orders.Receive) // before the topic is read: the revocations on it are honoured from the start
	csync.Start(st)
	kc.ResolveTenant = func(ref string) (string, bool) {
		t, ok := st.ResolveTenant(ref)
		return t.ID, ok
	}
	src, err := kafka.New(kc, nil)
	if err != nil {
		_ = csync.Close()
		_ = st.Close()
		return fmt.Errorf("control: kafka events topic: %w", err)
	}
	p.Store, p.Kafka, p.kafkaSync, p.kafkaCfg = st, src, csync, kc
	p.src, p.pub = kafkaSource{Source: src, sync: csync}, src
	return nil
}

// Reread returns the catch-up reader of the Kafka source for the hub (hub.Config.Reread), or
// nil when the source cannot re-read (the embedded bus).
func (p *Plane) Reread() func(ctx context.Context, fromID, toID string, fn func(*source.Event)) error {
	if p.Kafka == nil {
		return nil
	}
	return func(ctx context.Context, fromID, toID string, fn func(*source.Event)) error {
		from, err := kafka.DecodePosition(fromID)
		if err != nil {
			return err
		}
		to, err := kafka.DecodePosition(toID)
		if err != nil {
			return err
		}
		return p.Kafka.ReadRange(ctx, from, to, fn)
	}
}

// registerKafkaMetrics exposes the consumer's counters (docs/KAFKA.md "Metrics").
func (p *Plane) registerKafkaMetrics(r prometheus.Registerer) {
	if p.Kafka == nil {
		return
	}
	st := p.Kafka.Stats()
	c := func(name, help string, fn func() float64) { metrics.Counter(r, name, help, fn) }
	c("pushgate_kafka_records_total", "Records fetched from the events topic (valid and malformed).", func() float64 { return float64(st.Records.Load()) })
	c("pushgate_kafka_events_total", "Events handed to the hub.", func() float64 { return float64(st.Delivered.Load()) })
	c("pushgate_kafka_decode_errors_total", "Malformed records skipped.", func() float64 { return float64(st.DecodeErrors.Load()) })
	c("pushgate_kafka_fetch_errors_total", "Failed fetch and metadata requests.", func() float64 { return float64(st.FetchErrors.Load()) })
	c("pushgate_kafka_reconnects_total", "Partition readers re-positioned after a fetch error.", func() float64 { return float64(st.Reconnects.Load()) })
	c("pushgate_kafka_duplicates_dropped_total", "Records dropped as a retried publish (an Idempotency-Key met earlier in the topic).", func() float64 { return float64(st.Duplicates.Load()) })
	c("pushgate_kafka_offset_gaps_total", "Offsets skipped by the broker (retention, compaction, transaction markers).", func() float64 { return float64(st.Gaps.Load()) })
	metrics.Gauge(r, "pushgate_kafka_last_event_age_seconds", "Seconds since the last event was handed to the hub.", st.SecondsSinceLastEvent)
	r.MustRegister(lagCollector{st})
	cs := p.kafkaSync.Stats()
	c("pushgate_kafka_config_records_total", "Configuration-topic records read.", func() float64 { return float64(cs.Records.Load()) })
	c("pushgate_kafka_config_errors_total", "Configuration-topic records not applicable (invalid or conflicting).", func() float64 { return float64(cs.DecodeErrors.Load()) })
}

// lagCollector reports the consumer lag per partition (partitions come and go at run time).
type lagCollector struct{ st *client.Stats }

var lagDesc = prometheus.NewDesc("pushgate_kafka_lag", "High-water mark minus the next offset to read, per partition.", []string{"partition"}, nil)

func (l lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }

func (l lagCollector) Collect(ch chan<- prometheus.Metric) {
	for _, part := range l.st.Partitions() {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(part.Lag), strconv.Itoa(part.Partition))
	}
}
