package main

import (
	"testing"

	"github.com/pushgate/pushgate/loadtest/hist"
	"github.com/pushgate/pushgate/loadtest/report"
)

func TestParseSources(t *testing.T) {
	tests := []struct {
		in    string
		n     int
		first string
		err   bool
	}{
		{"", 0, "", false},
		{"3", 3, "127.0.0.2", false},
		{"127.0.0.9, 127.0.0.10", 2, "127.0.0.9", false},
		{"0", 0, "", true},
		{"::1", 0, "", true},
	}
	for _, tc := range tests {
		got, err := parseSources(tc.in)
		if (err != nil) != tc.err || len(got) != tc.n || (tc.n > 0 && got[0].String() != tc.first) {
			t.Errorf("parseSources(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestChildSplit(t *testing.T) {
	o, err := parseFlags([]string{"--procs", "3", "--sources", "4", "--conns", "10", "--rate", "300", "--publish-rate", "5", "--kind", "sse"})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	seen := map[string]bool{}
	for k := 0; k < 3; k++ {
		srcs := o.sourcesFor(k)
		for _, s := range srcs {
			if seen[s.String()] {
				t.Errorf("source %v given to two children", s)
			}
			seen[s.String()] = true
		}
		c, err := parseFlags(o.childArgs(k, srcs))
		if err != nil {
			t.Fatalf("child %d args: %v", k, err)
		}
		if !c.child || c.kind != "sse" || c.rate != 100 || len(c.rates) != 0 {
			t.Errorf("child %d: %+v", k, c)
		}
		total += c.conns
	}
	if total != 10 || len(seen) != 4 {
		t.Errorf("conns %d sources %d", total, len(seen))
	}
}

func TestMergeChildren(t *testing.T) {
	mk := func(conns int64, lat ...int64) report.Result {
		h := hist.New()
		for _, v := range lat {
			h.RecordMicros(v)
		}
		return report.Result{Conns: conns, DurationS: 2, Latency: h, Lost: 1}
	}
	out := mergeChildren([][]report.Result{{mk(3, 1000, 2000)}, {mk(4, 3000)}})
	if len(out) != 1 || out[0].Conns != 7 || out[0].Deliveries != 3 || out[0].Lost != 2 || out[0].Rate != 1.5 || out[0].MaxMs != 3 {
		t.Fatalf("%+v", out[0])
	}
}
