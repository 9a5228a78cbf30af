package cluster

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/pushgate/pushgate/engine/metrics"
)

// A worker's pushgate_ready is what its /readyz answers: 0 when the parent is not ready (Kafka
// topic missing) even though the worker itself is, so the not-ready alert fires with --workers.
func TestWorkerReadyJoinsTheParents(t *testing.T) {
	gauge := func(worker string, v float64) *dto.Metric {
		return &dto.Metric{Label: []*dto.LabelPair{{Name: proto.String("worker"), Value: proto.String(worker)}}, Gauge: &dto.Gauge{Value: proto.Float64(v)}}
	}
	for _, tc := range []struct {
		parent, w0, w1 float64
		want0, want1   float64
	}{
		{1, 1, 1, 1, 1},
		{0, 1, 1, 0, 0},
		{1, 0, 1, 0, 1}, // worker 0 draining
	} {
		f := &dto.MetricFamily{Name: proto.String(metrics.ReadyName), Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{gauge("parent", tc.parent), gauge("0", tc.w0), gauge("1", tc.w1)}}
		joinReady(f)
		if got0, got1 := f.Metric[1].GetGauge().GetValue(), f.Metric[2].GetGauge().GetValue(); got0 != tc.want0 || got1 != tc.want1 ||
			f.Metric[0].GetGauge().GetValue() != tc.parent {
			t.Errorf("parent %v workers %v %v: got %v %v, want %v %v", tc.parent, tc.w0, tc.w1, got0, got1, tc.want0, tc.want1)
		}
	}
}
