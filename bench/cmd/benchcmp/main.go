// Command benchcmp is pushgate's side-by-side benchmark harness: it starts pushgate, the
// reference Node socket.io 4.8.4 server (bench/node) and the floor server (bench/floor), each
// pinned to CPU 0 (the Go servers with GOMAXPROCS=1: the per-core comparison), drives them with
// the same in-process loader (loadtest/runner, pinned to CPU 1) and the same publisher
// (loadtest/publish), interleaved A/B/C/A/B/C with a fresh server process per cell, samples
// each server's CPU (/proc/<pid>/stat), RSS/PSS (smaps_rollup), write syscalls (/proc/<pid>/io
// syscw, plus pushgate_write_syscalls_total) and kernel memory (/proc/meminfo Slab,
// /proc/net/sockstat), and writes:
//
//	<out>/results.jsonl   one JSON line per (server, scenario, level, round) + an environment line
//	<out>/ratios.md       the ratio table (medians over rounds) and the targets, met or missed
//	<out>/*.svg           latency percentiles vs deliveries/s per server; memory vs connections
//
// Scenarios: idle (staircase of connection levels), storm (connect as fast as 500 in-flight
// handshakes allow), fanout (one stream, stepped publish rate until p99 > --stop-p99),
// burst (10 events back to back per tick), slow (5% of clients stop reading).
//
//	go run ./bench/cmd/benchcmp --quick            # < 3 minutes
//	go run ./bench/cmd/benchcmp                    # full (~25 minutes)
//	go run ./bench/cmd/benchcmp --report-only      # re-render ratios.md and the plots from results.jsonl
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

type config struct {
	quick      bool
	rounds     int
	servers    []string
	scenarios  map[string]bool
	out        string
	bins       map[string]string
	serverCPU  string
	loaderCPU  int
	gomaxprocs int
	sources    int
	stopP99    float64
	reportOnly bool
	pprof      bool
}

func main() {
	var c config
	var servers, scen, pgBin, floorBin, nodeBin, nodeScript string
	flag.BoolVar(&c.quick, "quick", os.Getenv("QUICK") == "1", "quick mode (< 3 min; env QUICK=1)")
	flag.IntVar(&c.rounds, "rounds", 0, "interleaved rounds per cell (default 2, quick 1)")
	flag.StringVar(&servers, "servers", "pushgate,node,floor", "servers, in interleaving order")
	flag.StringVar(&scen, "scenarios", "idle,storm,fanout,burst,slow", "scenarios to run")
	flag.StringVar(&c.out, "out", "bench/results", "output directory")
	flag.StringVar(&pgBin, "pushgate", "bin/pushgate", "pushgate binary")
	flag.StringVar(&floorBin, "floor", "bin/floor", "floor server binary (go build ./bench/cmd/floor)")
	flag.StringVar(&nodeBin, "node", "node", "node executable")
	flag.StringVar(&nodeScript, "node-script", "bench/node/server.mjs", "reference server script (npm ci in its directory first)")
	flag.StringVar(&c.serverCPU, "server-cpu", "0", "taskset CPU list for the servers (empty = unpinned)")
	flag.IntVar(&c.loaderCPU, "loader-cpu", 1, "CPU the harness (loader + publisher) pins itself to (-1 = unpinned)")
	flag.IntVar(&c.gomaxprocs, "gomaxprocs", 1, "GOMAXPROCS of the Go servers (0 = Go default)")
	flag.IntVar(&c.sources, "sources", 8, "loopback source addresses 127.0.0.2..N+1 for the loader")
	flag.Float64Var(&c.stopP99, "stop-p99", 100, "stop stepping a server's publish rate once its p99 passes this (ms)")
	flag.BoolVar(&c.reportOnly, "report-only", false, "only re-render the report from <out>/results.jsonl")
	flag.BoolVar(&c.pprof, "pprof", false, "start pushgate with --pprof and save a CPU profile of the reference fan-out and burst steps")
	flag.Parse()
	c.servers = strings.Split(servers, ",")
	c.scenarios = map[string]bool{}
	for _, s := range strings.Split(scen, ",") {
		c.scenarios[strings.TrimSpace(s)] = true
	}
	if c.rounds <= 0 {
		c.rounds = 2
		if c.quick {
			c.rounds = 1
		}
	}
	c.bins = map[string]string{"pushgate": pgBin, "floor": floorBin, "node": nodeBin, "nodeScript": nodeScript}
	if c.reportOnly {
		if err := render(c.out); err != nil {
			fmt.Fprintln(os.Stderr, "benchcmp:", err)
			os.Exit(1)
		}
		return
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, &c)
	cancel()
	killAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcmp:", err)
		os.Exit(1)
	}
}

// plan returns the scenario cells in run order.
type cell struct {
	name string
	run  func(ctx context.Context, h *harness, s *server, round int) error
}

func plan(c *config) []cell {
	var cells []cell
	idleLevels, idleHold := []int{1000, 5000, 10000, 19000}, 6*time.Second
	storm := 19000
	// keep: every server runs at least up to the reference rates (5k × 10/s, 19k × 2/s) so the
	// ratios compare equal loads; above them a server stops once its p99 passes --stop-p99.
	fan := []fanoutSpec{
		{scenario: "fanout", subs: 5000, payload: 100, rates: []float64{2, 5, 10, 20, 40}, step: 4 * time.Second, keep: 10},
		{scenario: "fanout", subs: 19000, payload: 100, rates: []float64{1, 2, 4, 8}, step: 4 * time.Second, keep: 2},
		{scenario: "fanout", subs: 5000, payload: 1000, rates: []float64{2, 5, 10, 20, 40}, step: 4 * time.Second, keep: 10},
		{scenario: "fanout", subs: 19000, payload: 1000, rates: []float64{1, 2, 4, 8}, step: 4 * time.Second, keep: 2},
		// baseline of the slow-consumer run (same load, nobody slow)
		{scenario: "fanout", subs: 5000, payload: 4000, rates: []float64{10}, step: 8 * time.Second, keep: 10},
	}
	bursts := []fanoutSpec{
		{scenario: "burst", subs: 5000, payload: 100, rates: []float64{10}, burst: 10, step: 8 * time.Second},
		{scenario: "burst", subs: 19000, payload: 100, rates: []float64{2.5}, burst: 10, step: 12 * time.Second},
	}
	// 5% of clients stop reading; 4 KB × 10/s = 40 KB/s each, enough to pass the kernel buffers
	// and pushgate's 1 MiB queue within the run.
	slow := fanoutSpec{scenario: "slow", subs: 5000, payload: 4000, rates: []float64{10}, slow: 0.05, step: 40 * time.Second}
	if c.quick {
		idleLevels, idleHold = []int{1000, 5000}, 3*time.Second
		storm = 5000
		fan = []fanoutSpec{{scenario: "fanout", subs: 5000, payload: 100, rates: []float64{2, 10}, step: 3 * time.Second, keep: 10}}
		bursts = bursts[:1]
		bursts[0].step = 4 * time.Second
		slow.payload, slow.step = 100, 6*time.Second // baseline: the 5k × 100 B × 10/s fan-out step
	}
	if c.scenarios["idle"] {
		cells = append(cells, cell{"idle", func(ctx context.Context, h *harness, s *server, r int) error {
			return h.idle(ctx, s, r, idleLevels, idleHold)
		}})
	}
	if c.scenarios["storm"] {
		cells = append(cells, cell{"storm", func(ctx context.Context, h *harness, s *server, r int) error {
			return h.storm(ctx, s, r, storm)
		}})
	}
	add := func(f fanoutSpec) {
		cells = append(cells, cell{f.scenario + " " + f.level(0), func(ctx context.Context, h *harness, s *server, r int) error {
			return h.fanout(ctx, s, r, f)
		}})
	}
	if c.scenarios["fanout"] {
		for _, f := range fan {
			add(f)
		}
	}
	if c.scenarios["burst"] {
		for _, f := range bursts {
			add(f)
		}
	}
	if c.scenarios["slow"] {
		add(slow)
	}
	return cells
}

func run(ctx context.Context, c *config) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	if c.loaderCPU >= 0 {
		var set unix.CPUSet
		set.Set(c.loaderCPU)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			fmt.Fprintln(os.Stderr, "benchcmp: cannot pin the loader:", err)
		}
		// the affinity of the calling thread only: apply to all threads via taskset on ourselves
		_ = exec.Command("taskset", "-a", "-p", "-c", fmt.Sprint(c.loaderCPU), fmt.Sprint(os.Getpid())).Run()
		runtime.GOMAXPROCS(1)
	}
	dataDir, err := os.MkdirTemp("", "benchcmp-pushgate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	var srcs []netip.Addr
	for i := 0; i < c.sources; i++ {
		srcs = append(srcs, netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)}))
	}
	jf, err := os.Create(filepath.Join(c.out, "results.jsonl"))
	if err != nil {
		return err
	}
	defer jf.Close()
	var mu sync.Mutex
	enc := json.NewEncoder(jf)
	envInfo := environment(c)
	_ = enc.Encode(envInfo)
	e := &env{bins: c.bins, dataDir: dataDir, outDir: c.out, serverCPU: c.serverCPU, gomaxprocs: c.gomaxprocs, pprof: false}
	h := &harness{env: e, sources: srcs, workers: 1, stopP99: c.stopP99, settle: 2 * time.Second, rampRate: 4000,
		out: func(r Record) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(r)
			fmt.Fprintf(os.Stderr, "  -> %-8s %-6s %-40s conns %6d deliv/s %8.0f cpu/del %6.2fµs p50 %7.2f p99 %7.2f ms rss/conn %6.2f KB syscw/del %.3f loader %3.0f%%\n",
				r.Server, r.Scenario, r.Level, r.Conns, r.Delivered, r.CPUPerDelUs, r.P50, r.P99, r.RSSPerConnKB, r.SyscwPerDel, r.LoaderCPUPct)
		}}
	if c.loaderCPU < 0 {
		h.workers = 0
	}
	t0 := time.Now()
	cells := plan(c)
	for ci, cl := range cells {
		for r := 0; r < c.rounds; r++ {
			for _, name := range c.servers {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				fmt.Fprintf(os.Stderr, "[%5.0fs] cell %d/%d %s round %d: %s\n", time.Since(t0).Seconds(), ci+1, len(cells), cl.name, r+1, name)
				s, err := e.start(ctx, name)
				if err != nil {
					return err
				}
				err = cl.run(ctx, h, s, r+1)
				s.stop()
				if err != nil {
					fmt.Fprintf(os.Stderr, "  !! %s %s round %d: %v\n", name, cl.name, r+1, err)
					mu.Lock()
					_ = enc.Encode(Record{Server: name, Scenario: strings.Fields(cl.name)[0], Level: "error", Round: r + 1, FirstError: err.Error()})
					mu.Unlock()
				}
				time.Sleep(500 * time.Millisecond)
			}
		}
	}
	if c.pprof {
		if err := profilePushgate(ctx, c, h, dataDir); err != nil {
			fmt.Fprintln(os.Stderr, "benchcmp: profile:", err)
		}
	}
	fmt.Fprintf(os.Stderr, "done in %.0fs\n", time.Since(t0).Seconds())
	jf.Sync()
	return render(c.out)
}

// profilePushgate reruns the reference fan-out and burst steps on pushgate with --pprof and saves
// CPU profiles (separately: profiling perturbs the figures).
func profilePushgate(ctx context.Context, c *config, h *harness, dataDir string) error {
	h.env.pprof = true
	defer func() { h.env.pprof = false }()
	// heap profile of 5k idle connections
	if s, err := h.env.start(ctx, "pushgate"); err == nil {
		l, err := h.ramp(ctx, s, 5000, h.rampRate, 0, 0)
		if err == nil {
			time.Sleep(3 * time.Second)
			path := filepath.Join(c.out, "logs", "profile-idle-heap.pprof")
			if err := fetchProfile("http://"+s.pprof+"/debug/pprof/heap?gc=1", path); err == nil {
				fmt.Fprintf(os.Stderr, "profile saved: %s (go tool pprof -top -sample_index=inuse_space %s)\n", path, path)
			}
			l.Finish(nil, nil, false)
		}
		s.stop()
	}
	specs := []fanoutSpec{
		{scenario: "profile-fanout", subs: 5000, payload: 100, rates: []float64{10}, step: 12 * time.Second},
		{scenario: "profile-burst", subs: 5000, payload: 100, rates: []float64{10}, burst: 10, step: 12 * time.Second},
	}
	for _, f := range specs {
		s, err := h.env.start(ctx, "pushgate")
		if err != nil {
			return err
		}
		path := filepath.Join(c.out, "logs", f.scenario+".pprof")
		done := make(chan error, 1)
		go func() {
			time.Sleep(5 * time.Second) // ramp + settle
			done <- fetchProfile("http://"+s.pprof+"/debug/pprof/profile?seconds=8", path)
		}()
		err = h.fanout(ctx, s, 0, f)
		perr := <-done
		s.stop()
		if err != nil {
			return err
		}
		if perr != nil {
			return perr
		}
		fmt.Fprintf(os.Stderr, "profile saved: %s (go tool pprof -top %s %s)\n", path, c.bins["pushgate"], path)
	}
	return nil
}

func environment(c *config) map[string]any {
	out := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	mem := ""
	kv("/proc/meminfo", func(k string, v int64) {
		if k == "MemTotal:" {
			mem = fmt.Sprintf("%.1f GiB", float64(v)/1024/1024)
		}
	})
	return map[string]any{"env": true, "time": time.Now().UTC().Format(time.RFC3339), "kernel": out("uname", "-r"),
		"cpu": cpu, "ncpu": runtime.NumCPU(), "mem": mem, "go": runtime.Version(), "node": out(c.bins["node"], "--version"),
		"socket.io": "4.8.4", "commit": out("git", "rev-parse", "--short", "HEAD"), "quick": c.quick, "rounds": c.rounds,
		"server_cpu": c.serverCPU, "loader_cpu": c.loaderCPU, "gomaxprocs": c.gomaxprocs, "servers": c.servers,
		"nofile": out("sh", "-c", "ulimit -n"), "port_range": out("cat", "/proc/sys/net/ipv4/ip_local_port_range")}
}
