package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// cellKey identifies one aggregated cell.
type cellKey struct{ server, scenario, level string }

type dataset struct {
	env  map[string]any
	recs map[cellKey][]Record
	// order of levels as first seen per scenario
	levels map[string][]string
}

func load(path string) (*dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &dataset{recs: map[cellKey][]Record{}, levels: map[string][]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var probe map[string]any
		if err := json.Unmarshal(line, &probe); err != nil {
			continue
		}
		if probe["env"] == true {
			d.env = probe
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil || r.Level == "error" {
			continue
		}
		k := cellKey{r.Server, r.Scenario, r.Level}
		if _, ok := d.recs[k]; !ok {
			seen := false
			for _, l := range d.levels[r.Scenario] {
				seen = seen || l == r.Level
			}
			if !seen {
				d.levels[r.Scenario] = append(d.levels[r.Scenario], r.Level)
			}
		}
		d.recs[k] = append(d.recs[k], r)
	}
	return d, sc.Err()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// med returns the median over rounds of f for the cell, NaN if absent.
func (d *dataset) med(server, scenario, level string, f func(Record) float64) float64 {
	rs := d.recs[cellKey{server, scenario, level}]
	var xs []float64
	for _, r := range rs {
		xs = append(xs, f(r))
	}
	return median(xs)
}

func (d *dataset) servers() []string {
	order := []string{"pushgate", "node", "floor"}
	have := map[string]bool{}
	for k := range d.recs {
		have[k.server] = true
	}
	var out []string
	for _, s := range order {
		if have[s] {
			out = append(out, s)
			delete(have, s)
		}
	}
	for s := range have {
		out = append(out, s)
	}
	return out
}

func f2(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// slope fits y = a + b·x by least squares over (conns, value) of the idle staircase.
func (d *dataset) idleSlope(server string, f func(Record) float64) float64 {
	var xs, ys []float64
	for _, lv := range d.levels["idle"] {
		x := d.med(server, "idle", lv, func(r Record) float64 { return float64(r.Conns) })
		y := d.med(server, "idle", lv, f)
		if !math.IsNaN(x) && !math.IsNaN(y) {
			xs, ys = append(xs, x), append(ys, y)
		}
	}
	if len(xs) < 2 {
		if len(xs) == 1 && xs[0] > 0 {
			return ys[0] / xs[0]
		}
		return math.NaN()
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(xs))
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	return num / den
}

func lastLevel(d *dataset, scenario string) string {
	ls := d.levels[scenario]
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

// maxOK is the highest delivered rate of a fan-out series whose p99 ≤ limit and which delivered
// ≥ 95% of what was offered.
func (d *dataset) maxOK(server, prefix string, limit float64) float64 {
	best := math.NaN()
	for _, lv := range d.levels["fanout"] {
		if !strings.HasPrefix(lv, prefix) {
			continue
		}
		p99 := d.med(server, "fanout", lv, func(r Record) float64 { return r.P99 })
		got := d.med(server, "fanout", lv, func(r Record) float64 { return r.Delivered })
		off := d.med(server, "fanout", lv, func(r Record) float64 { return r.Offered })
		if !math.IsNaN(p99) && p99 <= limit && got >= 0.95*off && (math.IsNaN(best) || got > best) {
			best = got
		}
	}
	return best
}

type row struct {
	metric string
	vals   map[string]float64
	note   string
}

func render(out string) error {
	d, err := load(filepath.Join(out, "results.jsonl"))
	if err != nil {
		return err
	}
	srv := d.servers()
	var rows []row
	get := func(scn, lv string, f func(Record) float64) map[string]float64 {
		m := map[string]float64{}
		for _, s := range srv {
			m[s] = d.med(s, scn, lv, f)
		}
		return m
	}
	// R1/R2/R8: idle
	if len(d.levels["idle"]) > 0 {
		top := lastLevel(d, "idle")
		m := map[string]float64{}
		p := map[string]float64{}
		hp := map[string]float64{}
		for _, s := range srv {
			m[s] = d.idleSlope(s, func(r Record) float64 { return float64(r.RSSKB) })
			p[s] = d.idleSlope(s, func(r Record) float64 { return float64(r.PSSKB) })
			hp[s] = d.idleSlope(s, func(r Record) float64 { return r.HeapKB })
		}
		rows = append(rows,
			row{"R1 RSS per idle connection, KB (slope over " + strings.Join(levelsShort(d.levels["idle"]), "/") + ")", m, "lower is better"},
			row{"R1 PSS per idle connection, KB (slope)", p, ""},
			row{"heap per idle connection, KB (slope; Node heapUsed after GC, Go heap in use)", hp, ""},
			row{"RSS per idle connection at " + top + ", KB ((RSS−RSS₀)/N)", get("idle", top, func(r Record) float64 { return r.RSSPerConnKB }), ""},
			row{"kernel slab per connection pair at " + top + ", KB (machine-wide, noisy)", get("idle", top, func(r Record) float64 { return r.SlabPerConnKB }), "both ends of the loopback pair"},
			row{"R2 connections per GiB of RSS (from the slope)", inv(m), "higher is better"},
			row{"R8 idle CPU, % of a core per 10k connections at " + top, get("idle", top, func(r Record) float64 { return r.IdleCPUPer10k }), "heartbeats (25 s)"},
		)
	}
	if lv := lastLevel(d, "storm"); lv != "" {
		rows = append(rows,
			row{"R7 connect storm " + lv + ": connects/s", get("storm", lv, func(r Record) float64 { return r.ConnectsPerS }), "500 handshakes in flight"},
			row{"R7 connect storm: handshake p99, ms", get("storm", lv, func(r Record) float64 { return r.ConnectP99 }), ""},
			row{"R7 connect storm: server CPU ms per 1k connects", get("storm", lv, func(r Record) float64 { return r.CPUmsPer1kCon }), ""},
		)
	}
	ref := "subs=5000,payload=100,rate=10"
	if _, ok := d.recs[cellKey{"pushgate", "fanout", ref}]; ok || hasLevel(d, "fanout", ref) {
		rows = append(rows,
			row{"R3 CPU per delivery, µs (fan-out 5k subs, 100 B, 50k deliveries/s)", get("fanout", ref, func(r Record) float64 { return r.CPUPerDelUs }), "user+sys"},
			row{"    user µs / sys µs per delivery", nil, userSys(d, srv, "fanout", ref)},
			row{"R5 p50 latency, ms (same step)", get("fanout", ref, func(r Record) float64 { return r.P50 }), ""},
			row{"R5 p99 latency, ms (same step)", get("fanout", ref, func(r Record) float64 { return r.P99 }), ""},
			row{"R5 p999 latency, ms (same step)", get("fanout", ref, func(r Record) float64 { return r.P999 }), ""},
			row{"R6 write syscalls per delivery (syscw, same step)", get("fanout", ref, func(r Record) float64 { return r.SyscwPerDel }), "1.0 = no coalescing"},
		)
	}
	for _, combo := range []string{"subs=5000,payload=100", "subs=19000,payload=100", "subs=5000,payload=1000", "subs=19000,payload=1000"} {
		m := map[string]float64{}
		any := false
		for _, s := range srv {
			m[s] = d.maxOK(s, combo+",", 100)
			any = any || !math.IsNaN(m[s])
		}
		if any {
			rows = append(rows, row{"R4 max deliveries/s with p99 ≤ 100 ms (" + combo + ", steps tried)", m, "higher is better; capped by the steps"})
		}
	}
	ref19 := "subs=19000,payload=100,rate=2"
	if hasLevel(d, "fanout", ref19) {
		rows = append(rows,
			row{"CPU per delivery, µs (19k subs, 100 B, 38k deliveries/s)", get("fanout", ref19, func(r Record) float64 { return r.CPUPerDelUs }), ""},
			row{"p99 latency, ms (19k subs, 100 B, 38k deliveries/s)", get("fanout", ref19, func(r Record) float64 { return r.P99 }), ""},
		)
	}
	for _, lv := range d.levels["burst"] {
		rows = append(rows,
			row{"S5 bursts of 10 (" + lv + "): CPU per delivery, µs", get("burst", lv, func(r Record) float64 { return r.CPUPerDelUs }), ""},
			row{"S5 bursts: write syscalls per delivery (syscw)", get("burst", lv, func(r Record) float64 { return r.SyscwPerDel }), ""},
			row{"S5 bursts: p99 latency, ms", get("burst", lv, func(r Record) float64 { return r.P99 }), ""},
		)
	}
	for _, lv := range d.levels["slow"] {
		base := strings.Split(lv, ",slow=")[0]
		rows = append(rows,
			row{"R9 slow consumers (" + lv + "): healthy p99, ms", get("slow", lv, func(r Record) float64 { return r.P99 }), ""},
			row{"R9 same load without slow clients (" + base + "): p99, ms", get("fanout", base, func(r Record) float64 { return r.P99 }), "full mode only"},
			row{"R9 peak RSS growth during the run, MB", get("slow", lv, func(r Record) float64 { return float64(r.RSSPeakKB-r.RSSBaseKB) / 1024 }), "bounded queue → plateau"},
			row{"R9 slow clients closed by the server (of 5%)", get("slow", lv, func(r Record) float64 { return float64(r.SlowClosed) }), ""},
			row{"R9 healthy deliveries/s (offered " + f2(d.med("pushgate", "slow", lv, func(r Record) float64 { return r.Offered })) + ")", get("slow", lv, func(r Record) float64 { return r.Delivered }), ""},
		)
	}

	var b strings.Builder
	envLine(&b, d.env)
	b.WriteString("\n| metric | " + strings.Join(srv, " | ") + " | pushgate ÷ node | pushgate ÷ floor | note |\n|---|")
	for range srv {
		b.WriteString("---:|")
	}
	b.WriteString("---:|---:|---|\n")
	for _, r := range rows {
		b.WriteString("| " + r.metric + " | ")
		if r.vals == nil {
			b.WriteString(r.note + " |")
			for i := 0; i < len(srv)+2; i++ {
				b.WriteString(" |")
			}
			b.WriteString("\n")
			continue
		}
		for _, s := range srv {
			b.WriteString(f2(r.vals[s]) + " | ")
		}
		b.WriteString(ratio(r.vals["pushgate"], r.vals["node"]) + " | " + ratio(r.vals["pushgate"], r.vals["floor"]) + " | " + r.note + " |\n")
	}
	b.WriteString("\n" + targets(d, ref, ref19))
	b.WriteString("\n" + detail(d, srv))
	if err := os.WriteFile(filepath.Join(out, "ratios.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	return plots(d, srv, out)
}

func hasLevel(d *dataset, scn, lv string) bool {
	for _, l := range d.levels[scn] {
		if l == lv {
			return true
		}
	}
	return false
}

func levelsShort(ls []string) []string {
	var out []string
	for _, l := range ls {
		out = append(out, strings.TrimPrefix(l, "conns="))
	}
	return out
}

func inv(m map[string]float64) map[string]float64 {
	o := map[string]float64{}
	for k, v := range m {
		o[k] = 1024 * 1024 / v
	}
	return o
}

func userSys(d *dataset, srv []string, scn, lv string) string {
	var parts []string
	for _, s := range srv {
		u := d.med(s, scn, lv, func(r Record) float64 { return r.UserPerDelUs })
		y := d.med(s, scn, lv, func(r Record) float64 { return r.SysPerDelUs })
		parts = append(parts, fmt.Sprintf("%s %s / %s", s, f2(u), f2(y)))
	}
	return strings.Join(parts, "; ")
}

func envLine(b *strings.Builder, env map[string]any) {
	if env == nil {
		return
	}
	fmt.Fprintf(b, "Run %v: %v (%v vCPU, %v), kernel %v, %v, Node %v + socket.io %v, commit %v; servers pinned to CPU %v (Go GOMAXPROCS=%v), loader + publisher pinned to CPU %v; %v round(s) per cell, medians shown; quick=%v.\n",
		env["time"], env["cpu"], env["ncpu"], env["mem"], env["kernel"], env["go"], env["node"], env["socket.io"], env["commit"],
		env["server_cpu"], env["gomaxprocs"], env["loader_cpu"], env["rounds"], env["quick"])
}

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**missed**"
}

func targets(d *dataset, ref, ref19 string) string {
	var b strings.Builder
	b.WriteString("Targets (issue):\n\n| target | measured | verdict |\n|---|---|---|\n")
	if len(d.levels["idle"]) > 0 {
		v := d.idleSlope("pushgate", func(r Record) float64 { return float64(r.RSSKB) })
		fmt.Fprintf(&b, "| RSS per idle WebSocket connection ≤ 4 KB (aim 2 KB) | %s KB (slope) | %s%s |\n", f2(v), verdict(v <= 4), map[bool]string{true: ", aim 2 KB met", false: ""}[v <= 2])
	}
	if hasLevel(d, "fanout", ref) {
		pc := d.med("pushgate", "fanout", ref, func(r Record) float64 { return r.CPUPerDelUs })
		fc := d.med("floor", "fanout", ref, func(r Record) float64 { return r.CPUPerDelUs })
		pp := d.med("pushgate", "fanout", ref, func(r Record) float64 { return r.P99 })
		fp := d.med("floor", "fanout", ref, func(r Record) float64 { return r.P99 })
		fmt.Fprintf(&b, "| events spread out (5k subs, 50k/s): CPU per delivery ≤ 1.25× floor | %s vs %s µs = %s | %s |\n", f2(pc), f2(fc), ratio(pc, fc), verdict(pc <= 1.25*fc))
		fmt.Fprintf(&b, "| events spread out (5k subs, 50k/s): p99 ≤ 1.25× floor | %s vs %s ms = %s | %s |\n", f2(pp), f2(fp), ratio(pp, fp), verdict(pp <= 1.25*fp))
	}
	for _, lv := range d.levels["burst"] {
		pc := d.med("pushgate", "burst", lv, func(r Record) float64 { return r.CPUPerDelUs })
		nc := d.med("node", "burst", lv, func(r Record) float64 { return r.CPUPerDelUs })
		fmt.Fprintf(&b, "| bursts of 10 (%s): ≥ 3× less CPU per delivery than Node | node ÷ pushgate = %s (%s vs %s µs) | %s |\n", lv, ratio(nc, pc), f2(nc), f2(pc), verdict(nc >= 3*pc))
	}
	if hasLevel(d, "fanout", ref19) {
		pp := d.med("pushgate", "fanout", ref19, func(r Record) float64 { return r.P99 })
		fp := d.med("floor", "fanout", ref19, func(r Record) float64 { return r.P99 })
		fmt.Fprintf(&b, "| 19k subscribers per process (38k/s): p99 ≤ 1.25× floor | %s vs %s ms = %s | %s |\n", f2(pp), f2(fp), ratio(pp, fp), verdict(pp <= 1.25*fp))
	}
	return b.String()
}

// detail is the per-step table of every fan-out, burst and slow cell.
func detail(d *dataset, srv []string) string {
	var b strings.Builder
	b.WriteString("Every step (medians over rounds):\n\n| scenario | level | server | offered/s | delivered/s | CPU % | CPU µs/del (user+sys) | p50 ms | p99 ms | p999 ms | syscw/del | RSS MB | lost | loader CPU % |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, scn := range []string{"fanout", "burst", "slow"} {
		for _, lv := range d.levels[scn] {
			for _, s := range srv {
				if _, ok := d.recs[cellKey{s, scn, lv}]; !ok {
					continue
				}
				m := func(f func(Record) float64) float64 { return d.med(s, scn, lv, f) }
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s (%s+%s) | %s | %s | %s | %s | %s | %s | %s |\n", scn, lv, s,
					f2(m(func(r Record) float64 { return r.Offered })), f2(m(func(r Record) float64 { return r.Delivered })),
					f2(m(func(r Record) float64 { return r.CPUPct })),
					f2(m(func(r Record) float64 { return r.CPUPerDelUs })), f2(m(func(r Record) float64 { return r.UserPerDelUs })), f2(m(func(r Record) float64 { return r.SysPerDelUs })),
					f2(m(func(r Record) float64 { return r.P50 })), f2(m(func(r Record) float64 { return r.P99 })), f2(m(func(r Record) float64 { return r.P999 })),
					f2(m(func(r Record) float64 { return r.SyscwPerDel })), f2(m(func(r Record) float64 { return float64(r.RSSKB) / 1024 })),
					f2(m(func(r Record) float64 { return float64(r.Lost) })), f2(m(func(r Record) float64 { return r.LoaderCPUPct })))
			}
		}
	}
	b.WriteString("\nIdle staircase and connect storm:\n\n| scenario | level | server | conns | RSS MB | RSS/conn KB | PSS/conn KB | heap/conn KB | slab/pair KB | CPU % | connects/s | connect p99 ms | CPU ms/1k connects |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, scn := range []string{"idle", "storm"} {
		for _, lv := range d.levels[scn] {
			for _, s := range srv {
				if _, ok := d.recs[cellKey{s, scn, lv}]; !ok {
					continue
				}
				m := func(f func(Record) float64) float64 { return d.med(s, scn, lv, f) }
				conns := m(func(r Record) float64 { return float64(r.Conns) })
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", scn, lv, s, f2(conns),
					f2(m(func(r Record) float64 { return float64(r.RSSKB) / 1024 })), f2(m(func(r Record) float64 { return r.RSSPerConnKB })),
					f2(m(func(r Record) float64 { return r.PSSPerConnKB })), f2(m(func(r Record) float64 { return r.HeapKB / math.Max(float64(r.Conns), 1) })),
					f2(m(func(r Record) float64 { return r.SlabPerConnKB })), f2(m(func(r Record) float64 { return r.CPUPct })),
					f2(m(func(r Record) float64 { return r.ConnectsPerS })), f2(m(func(r Record) float64 { return r.ConnectP99 })),
					f2(m(func(r Record) float64 { return r.CPUmsPer1kCon })))
			}
		}
	}
	return b.String()
}

func plots(d *dataset, srv []string, out string) error {
	// latency vs deliveries/s, one chart per fan-out combination
	combos := map[string]bool{}
	var order []string
	for _, lv := range d.levels["fanout"] {
		c := lv[:strings.LastIndex(lv, ",rate=")]
		if !combos[c] {
			combos[c] = true
			order = append(order, c)
		}
	}
	for _, c := range order {
		var ss, cs []series
		for _, s := range srv {
			var p50, p99, p999, cpu [][2]float64
			for _, lv := range d.levels["fanout"] {
				if !strings.HasPrefix(lv, c+",rate=") {
					continue
				}
				if _, ok := d.recs[cellKey{s, "fanout", lv}]; !ok {
					continue
				}
				x := d.med(s, "fanout", lv, func(r Record) float64 { return r.Delivered })
				p50 = append(p50, [2]float64{x, d.med(s, "fanout", lv, func(r Record) float64 { return r.P50 })})
				p99 = append(p99, [2]float64{x, d.med(s, "fanout", lv, func(r Record) float64 { return r.P99 })})
				p999 = append(p999, [2]float64{x, d.med(s, "fanout", lv, func(r Record) float64 { return r.P999 })})
				cpu = append(cpu, [2]float64{x, d.med(s, "fanout", lv, func(r Record) float64 { return r.CPUPerDelUs })})
			}
			ss = append(ss, series{s + " p99", colorOf(s), false, p99}, series{s + " p50", colorOf(s), true, p50})
			cs = append(cs, series{s, colorOf(s), false, cpu})
		}
		name := strings.NewReplacer("subs=", "", ",payload=", "-", ",", "-").Replace(c)
		title := "Fan-out latency, " + strings.ReplaceAll(c, ",", ", ") + " B (one core per server)"
		if err := os.WriteFile(filepath.Join(out, "latency-"+name+".svg"), []byte(chart(title, "deliveries per second", "latency, ms (log scale)", true, ss)), 0o644); err != nil {
			return err
		}
		title = "Server CPU per delivery, " + strings.ReplaceAll(c, ",", ", ") + " B"
		if err := os.WriteFile(filepath.Join(out, "cpu-"+name+".svg"), []byte(chart(title, "deliveries per second", "CPU µs per delivery (user+sys)", false, cs)), 0o644); err != nil {
			return err
		}
	}
	if len(d.levels["idle"]) > 0 {
		var ss []series
		var slab [][2]float64
		for _, s := range srv {
			var pts [][2]float64
			for _, lv := range d.levels["idle"] {
				if _, ok := d.recs[cellKey{s, "idle", lv}]; !ok {
					continue
				}
				x := d.med(s, "idle", lv, func(r Record) float64 { return float64(r.Conns) })
				pts = append(pts, [2]float64{x, d.med(s, "idle", lv, func(r Record) float64 { return float64(r.RSSKB-r.RSSBaseKB) / 1024 })})
				if s == "pushgate" {
					slab = append(slab, [2]float64{x, d.med(s, "idle", lv, func(r Record) float64 { return r.SlabPerConnKB * float64(r.Conns) / 1024 })})
				}
			}
			ss = append(ss, series{fmt.Sprintf("%s RSS (%s KB/conn)", s, f2(d.idleSlope(s, func(r Record) float64 { return float64(r.RSSKB) }))), colorOf(s), false, pts})
		}
		ss = append(ss, series{"kernel slab, both ends", "#7f7f7f", true, slab})
		if err := os.WriteFile(filepath.Join(out, "memory-idle.svg"), []byte(chart("Memory vs idle connections (RSS above the empty server)", "connections", "MB", false, ss)), 0o644); err != nil {
			return err
		}
	}
	return nil
}
