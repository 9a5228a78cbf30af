package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pushgate/pushgate/loadtest/publish"
)

// server is one running server process under test.
type server struct {
	name  string
	cmd   *exec.Cmd
	pid   int
	addr  netip.AddrPort
	url   string
	token string
	logf  string
	done  chan struct{}
	pprof string // pushgate only, when enabled
}

// procs tracks every process the harness started so they are killed on any exit.
var procs struct {
	sync.Mutex
	m map[int]*exec.Cmd
}

func track(c *exec.Cmd) {
	procs.Lock()
	defer procs.Unlock()
	if procs.m == nil {
		procs.m = map[int]*exec.Cmd{}
	}
	procs.m[c.Process.Pid] = c
}

func untrack(pid int) {
	procs.Lock()
	defer procs.Unlock()
	delete(procs.m, pid)
}

// killAll kills every tracked process (and its process group) by id.
func killAll() {
	procs.Lock()
	defer procs.Unlock()
	for pid := range procs.m {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	procs.m = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// env holds what every server start needs.
type env struct {
	bins       map[string]string // pushgate, floor, node (node executable), nodeScript
	dataDir    string
	outDir     string
	token      string
	serverCPU  string // taskset list for servers, "" = unpinned
	gomaxprocs int    // for the Go servers, 0 = default
	pprof      bool
}

// start launches name on a fresh port and waits until it answers /health and has the bench
// stream configured.
func (e *env) start(ctx context.Context, name string, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	var argv []string
	goEnv := []string{}
	if e.gomaxprocs > 0 {
		goEnv = append(goEnv, fmt.Sprintf("GOMAXPROCS=%d", e.gomaxprocs))
	}
	s := &server{name: name, addr: netip.MustParseAddrPort(listen), url: "http://" + listen, done: make(chan struct{})}
	switch name {
	case "pushgate":
		argv = []string{e.bins["pushgate"], "serve", "--listen", listen, "--data-dir", e.dataDir, "--log-level", "warn"}
		if e.pprof {
			pp, err := freePort()
			if err != nil {
				return nil, err
			}
			s.pprof = fmt.Sprintf("127.0.0.1:%d", pp)
			argv = append(argv, "--pprof", s.pprof)
		}
	case "floor":
		argv = []string{e.bins["floor"], "--listen", listen}
	case "node":
		argv = []string{e.bins["node"], "--expose-gc", e.bins["nodeScript"], "--listen", listen}
		if e.token != "" {
			argv = append(argv, "--token", e.token)
		}
	default:
		return nil, fmt.Errorf("unknown server %q", name)
	}
	argv = append(argv, extra...)
	cpus := e.serverCPU
	if cpus == "" { // unpinned: undo the loader's own pinning, which children inherit
		cpus = fmt.Sprintf("0-%d", runtime.NumCPU()-1)
	}
	argv = append([]string{"taskset", "-c", cpus}, argv...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), goEnv...)
	s.logf = filepath.Join(e.outDir, "logs", name+".log")
	_ = os.MkdirAll(filepath.Dir(s.logf), 0o755)
	lf, err := os.OpenFile(s.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "\n=== %s %s\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "))
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	track(cmd)
	s.cmd, s.pid = cmd, cmd.Process.Pid
	go func() { _ = cmd.Wait(); lf.Close(); close(s.done) }()
	if err := waitHealthy(ctx, s, 20*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	if name == "pushgate" { // the development issuer is the server's URL: mint for this port
		tok, err := mintToken(e.bins["pushgate"], e.dataDir)
		if err != nil {
			s.stop()
			return nil, err
		}
		e.token = tok
	}
	s.token = e.token
	if err := publish.EnsureStream(ctx, http.DefaultClient, s.url, s.token, "bench", "bench", "tick"); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func waitHealthy(ctx context.Context, s *server, d time.Duration) error {
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited during start (log %s)", s.name, s.logf)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := c.Get(s.url + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy after %v (log %s)", s.name, d, s.logf)
}

func mintToken(bin, dataDir string) (string, error) {
	out, err := exec.Command(bin, "token", "--data-dir", dataDir, "--tenant", "demo", "--ttl", "24h", "--roles",
		"stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin").Output()
	if err != nil {
		return "", fmt.Errorf("pushgate token: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// stop sends SIGTERM, then SIGKILL after 3 s.
func (s *server) stop() {
	if s == nil || s.cmd == nil {
		return
	}
	_ = syscall.Kill(s.pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-s.pid, syscall.SIGKILL)
		_ = syscall.Kill(s.pid, syscall.SIGKILL)
		<-s.done
	}
	untrack(s.pid)
}

// ---- /proc sampling ----

// sample is a point-in-time reading of one process and the kernel.
type sample struct {
	t            time.Time
	utime, stime float64 // seconds
	rssKB, pssKB int64
	syscw        int64 // write-family syscalls (/proc/pid/io)
	slabKB       int64 // /proc/meminfo Slab (whole machine)
	sockPages    int64 // /proc/net/sockstat TCP mem (pages, whole machine)
	threads      int64
}

const clkTck = 100.0

func readSample(pid int) (sample, error) {
	s := sample{t: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); utime = field 14, stime = 15, num_threads = 20.
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	s.utime, s.stime = u/clkTck, st/clkTck
	s.threads, _ = strconv.ParseInt(f[17], 10, 64)
	kv(fmt.Sprintf("/proc/%d/smaps_rollup", pid), func(k string, v int64) {
		switch k {
		case "Rss:":
			s.rssKB = v
		case "Pss:":
			s.pssKB = v
		}
	})
	kv(fmt.Sprintf("/proc/%d/io", pid), func(k string, v int64) {
		if k == "syscw:" {
			s.syscw = v
		}
	})
	kv("/proc/meminfo", func(k string, v int64) {
		if k == "Slab:" {
			s.slabKB = v
		}
	})
	if b, err := os.ReadFile("/proc/net/sockstat"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "TCP:") {
				f := strings.Fields(line)
				for j := 1; j+1 < len(f); j += 2 {
					if f[j] == "mem" {
						s.sockPages, _ = strconv.ParseInt(f[j+1], 10, 64)
					}
				}
			}
		}
	}
	return s, nil
}

// kv calls fn for every "key: value ..." line whose second field is an integer.
func kv(path string, fn func(k string, v int64)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 {
			if v, err := strconv.ParseInt(fs[1], 10, 64); err == nil {
				fn(fs[0], v)
			}
		}
	}
}

func (a sample) cpu() float64 { return a.utime + a.stime }

// selfCPU is the harness's own CPU (the loader), seconds.
func selfCPU() float64 {
	s, err := readSample(os.Getpid())
	if err != nil {
		return 0
	}
	return s.cpu()
}

// metrics scrapes pushgate's /metrics for a few series.
func scrapeMetrics(url string) map[string]float64 {
	out := map[string]float64{}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	want := map[string]bool{"pushgate_write_syscalls_total": true, "pushgate_deliveries_total": true, "go_goroutines": true,
		"go_memstats_heap_inuse_bytes": true, "go_memstats_stack_inuse_bytes": true, "pushgate_slow_consumer_closes_total": true,
		"pushgate_queued_bytes": true, "pushgate_connections": true}
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 2 && want[f[0]] {
			v, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = v
		}
	}
	return out
}

// debugMem asks node/floor for their heap after a forced GC (KB), pushgate from /metrics.
func debugMem(s *server) (heapKB float64) {
	if s.name == "pushgate" {
		return scrapeMetrics(s.url)["go_memstats_heap_inuse_bytes"] / 1024
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(s.url + "/debug/mem")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var m map[string]float64
	if err := jsonDecode(resp.Body, &m); err != nil {
		return 0
	}
	if v, ok := m["heapUsed"]; ok {
		return v / 1024
	}
	return m["heap_inuse"] / 1024
}

func fetchProfile(url, path string) error {
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
