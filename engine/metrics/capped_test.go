package metrics

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// A tenant with 10,000 streams adds at most limit+1 series per per-stream name: the top streams
// by deliveries, and "other" summing the rest (nothing is lost from the totals).
func TestPerStreamLabelCap(t *testing.T) {
	var rows []StreamRow
	var total int64
	for i := range 10000 {
		rows = append(rows, StreamRow{Tenant: "urn:ads:platform:tenant-service:v2:/tenants/aaaa", Stream: fmt.Sprintf("s%05d", i),
			Subscriptions: 1, Deliveries: int64(i), Drops: int64(i % 2)})
		total += int64(i)
	}
	rows = append(rows, StreamRow{Tenant: "", Stream: "core-stream", Deliveries: 1})
	r := prometheus.NewRegistry()
	RegisterPerStream(r, 5, func() []StreamRow { return append([]StreamRow(nil), rows...) })
	fams, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]*dto.Metric{}
	for _, f := range fams {
		got[f.GetName()] = f.Metric
	}
	del := got["pushgate_stream_deliveries_total"]
	if len(del) != 6 {
		t.Fatalf("%d stream series, want 5 + other", len(del))
	}
	var sum float64
	seenOther, seenTop := false, false
	for _, m := range del {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		sum += m.GetCounter().GetValue()
		switch labels["stream"] {
		case OtherLabel:
			seenOther = labels["tenant"] == OtherLabel
		case "s09999":
			seenTop = labels["tenant"] == "aaaa"
		}
	}
	if !seenOther || !seenTop || sum != float64(total+1) {
		t.Errorf("series %v: other %v, top stream %v, sum %v want %d", del, seenOther, seenTop, sum, total+1)
	}
	if ten := got["pushgate_tenant_deliveries_total"]; len(ten) != 3 { // aaaa, core, other (0)
		t.Errorf("%d tenant series, want 3", len(ten))
	}
	if subs := got["pushgate_stream_subscriptions"]; len(subs) != 6 {
		t.Errorf("%d subscription series", len(subs))
	}
}
