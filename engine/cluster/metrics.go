package cluster

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/pushgate/pushgate/engine/metrics"
)

// clusterGatherer serves the parent's /metrics: its own metrics labelled worker="parent" plus
// every connected worker's, fetched over the worker's socket and labelled worker="<i>", so one
// scrape through the shared port (whichever worker takes it) sees the whole machine.
type clusterGatherer struct {
	own     prometheus.Gatherer
	run     string
	workers func() []int
}

func newClusterGatherer(own prometheus.Gatherer, run string, workers func() []int) *clusterGatherer {
	return &clusterGatherer{own: own, run: run, workers: workers}
}

// Gather implements prometheus.Gatherer. An unreachable worker is left out (its pushgate_up-style
// absence is visible as missing series), never failing the scrape.
func (g *clusterGatherer) Gather() ([]*dto.MetricFamily, error) {
	own, err := g.own.Gather()
	if err != nil {
		return nil, fmt.Errorf("cluster: gather parent metrics: %w", err)
	}
	byName := map[string]*dto.MetricFamily{}
	add := func(fams []*dto.MetricFamily, worker string) {
		for _, f := range fams {
			for _, m := range f.Metric {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String("worker"), Value: proto.String(worker)})
			}
			if have, ok := byName[f.GetName()]; ok {
				if have.GetType() == f.GetType() {
					have.Metric = append(have.Metric, f.Metric...)
				}
				continue
			}
			byName[f.GetName()] = f
		}
	}
	add(own, "parent")
	idx := g.workers()
	slices.Sort(idx)
	results := make([][]*dto.MetricFamily, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k] = fetchMetrics(WorkerSocket(g.run, i))
		}()
	}
	wg.Wait()
	for k, i := range idx {
		add(results[k], strconv.Itoa(i))
	}
	joinReady(byName[metrics.ReadyName])
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, f := range byName {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int {
		switch {
		case a.GetName() < b.GetName():
			return -1
		case a.GetName() > b.GetName():
			return 1
		}
		return 0
	})
	return out, nil
}

// joinReady makes each worker's pushgate_ready what its /readyz answers: the worker's own part
// (link up, not draining) and the parent's (events flow, documents read), which the worker's
// /readyz asks the parent for. So `max by (instance) (pushgate_ready) == 0` fires when the parent
// is not ready (Kafka topic missing) although every worker is.
func joinReady(f *dto.MetricFamily) {
	if f == nil || f.GetType() != dto.MetricType_GAUGE {
		return
	}
	parent := 1.0
	for _, m := range f.Metric {
		if workerLabel(m) == "parent" {
			parent = m.GetGauge().GetValue()
		}
	}
	for _, m := range f.Metric {
		if g := m.GetGauge(); g != nil && workerLabel(m) != "parent" && parent < g.GetValue() {
			g.Value = proto.Float64(parent)
		}
	}
}

func workerLabel(m *dto.Metric) string {
	for _, l := range m.Label {
		if l.GetName() == "worker" {
			return l.GetValue()
		}
	}
	return ""
}

func fetchMetrics(sock string) []*dto.MetricFamily {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://worker/metrics", nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	req.Close = true // a one-off client: keep no idle connection behind
	resp, err := unixHTTPClient(sock).Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil
	}
	out := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		out = append(out, f)
	}
	return out
}
