package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/pushgate/pushgate/loadtest/client"
	"github.com/pushgate/pushgate/loadtest/publish"
	"github.com/pushgate/pushgate/loadtest/runner"
)

// Record is one JSON line: one (server, scenario, level, round).
type Record struct {
	Server   string  `json:"server"`
	Scenario string  `json:"scenario"`
	Level    string  `json:"level"`
	Round    int     `json:"round"`
	Conns    int64   `json:"conns"`
	Subs     int     `json:"subs,omitempty"`
	Payload  int     `json:"payload_bytes,omitempty"`
	Rate     float64 `json:"publish_rate,omitempty"` // events/s
	Burst    int     `json:"burst,omitempty"`
	SlowFrac float64 `json:"slow_fraction,omitempty"`

	DurationS    float64 `json:"duration_s"`
	Offered      float64 `json:"offered_per_s,omitempty"`   // healthy deliveries/s offered
	Delivered    float64 `json:"delivered_per_s,omitempty"` // deliveries/s over the step (loader)
	Deliveries   int64   `json:"deliveries,omitempty"`
	Published    int64   `json:"published,omitempty"`
	Lost         int64   `json:"lost"`
	Errors       int64   `json:"errors"`
	CPUUserS     float64 `json:"cpu_user_s"`
	CPUSysS      float64 `json:"cpu_sys_s"`
	CPUPerDelUs  float64 `json:"cpu_us_per_delivery,omitempty"`
	UserPerDelUs float64 `json:"user_us_per_delivery,omitempty"`
	SysPerDelUs  float64 `json:"sys_us_per_delivery,omitempty"`
	CPUPct       float64 `json:"cpu_pct"` // of one core over the window
	P50          float64 `json:"p50_ms,omitempty"`
	P90          float64 `json:"p90_ms,omitempty"`
	P99          float64 `json:"p99_ms,omitempty"`
	P999         float64 `json:"p999_ms,omitempty"`
	Max          float64 `json:"max_ms,omitempty"`

	Syscw          int64   `json:"syscw,omitempty"` // write-family syscalls (/proc/pid/io)
	SyscwPerDel    float64 `json:"syscw_per_delivery,omitempty"`
	PGWrites       int64   `json:"pushgate_writev,omitempty"` // pushgate_write_syscalls_total delta
	PGWritesPerDel float64 `json:"pushgate_writev_per_delivery,omitempty"`

	RSSBaseKB     int64   `json:"rss_base_kb,omitempty"`
	RSSKB         int64   `json:"rss_kb,omitempty"`
	PSSKB         int64   `json:"pss_kb,omitempty"`
	RSSPeakKB     int64   `json:"rss_peak_kb,omitempty"`
	RSSPerConnKB  float64 `json:"rss_per_conn_kb,omitempty"`
	PSSPerConnKB  float64 `json:"pss_per_conn_kb,omitempty"`
	HeapKB        float64 `json:"heap_kb,omitempty"`
	HeapPerConnKB float64 `json:"heap_per_conn_kb,omitempty"`
	SlabPerConnKB float64 `json:"kernel_slab_per_conn_pair_kb,omitempty"`
	SockMemKB     int64   `json:"tcp_mem_kb,omitempty"`
	IdleCPUPer10k float64 `json:"idle_cpu_pct_per_10k,omitempty"`
	Goroutines    float64 `json:"goroutines,omitempty"`
	Threads       int64   `json:"threads,omitempty"`

	ConnectsPerS  float64 `json:"connects_per_s,omitempty"`
	ConnectP50    float64 `json:"connect_p50_ms,omitempty"`
	ConnectP99    float64 `json:"connect_p99_ms,omitempty"`
	CPUmsPer1kCon float64 `json:"cpu_ms_per_1k_connects,omitempty"`

	Slow       int64 `json:"slow,omitempty"`
	SlowClosed int64 `json:"slow_closed,omitempty"`
	Dropped    int64 `json:"dropped,omitempty"`

	LoaderCPUPct float64 `json:"loader_cpu_pct"`
	FirstError   string  `json:"first_error,omitempty"`
}

type harness struct {
	env      *env
	sources  []netip.Addr
	workers  int
	out      func(Record)
	stopP99  float64 // ms; stop stepping a server above it
	settle   time.Duration
	rampRate float64
}

func (h *harness) loaderConfig(s *server, conns int, rate float64, slow float64) runner.Config {
	auth := []byte(`{"token":` + strconv.Quote(s.token) + `,"stream":"bench"}`)
	return runner.Config{
		Kind:   client.KindWS,
		Client: client.Config{Host: s.addr.String(), EIOPath: "/socket.io/", Query: "stream=bench", Namespace: "/demo", Auth: auth},
		Target: s.addr, Sources: h.sources, Conns: conns, Rate: rate, Inflight: 500, Workers: h.workers,
		SlowFraction: slow, HandshakeTimeout: 20 * time.Second,
	}
}

func (h *harness) ramp(ctx context.Context, s *server, conns int, rate, slow float64, idBase uint64) (*runner.Loader, error) {
	cfg := h.loaderConfig(s, conns, rate, slow)
	cfg.IDBase = idBase
	l, err := runner.Start(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-l.Ramped():
	case <-ctx.Done():
		l.Finish(nil, nil, false)
		return nil, ctx.Err()
	}
	p := l.Progress()
	if p.Ready < int64(conns)*98/100 {
		rs := l.Finish(nil, nil, false)
		return nil, fmt.Errorf("%s: only %d of %d clients ready (failed %d): %s", s.name, p.Ready, conns, p.Failed, rs[len(rs)-1].FirstError)
	}
	return l, nil
}

// idle: staircase 1k → 5k → … on one server instance; memory and idle CPU at each level.
func (h *harness) idle(ctx context.Context, s *server, round int, levels []int, hold time.Duration) error {
	time.Sleep(500 * time.Millisecond)
	base, err := readSample(s.pid)
	if err != nil {
		return err
	}
	var loaders []*runner.Loader
	defer func() {
		for _, l := range loaders {
			l.Finish(nil, nil, false)
		}
	}()
	cur := 0
	for _, lv := range levels {
		l, err := h.ramp(ctx, s, lv-cur, h.rampRate, 0, uint64(cur))
		if err != nil {
			return err
		}
		loaders = append(loaders, l)
		cur = lv
		time.Sleep(h.settle)
		var ready int64
		for _, l := range loaders {
			ready += l.Progress().Ready
		}
		l0 := selfCPU()
		a, _ := readSample(s.pid)
		time.Sleep(hold)
		b, _ := readSample(s.pid)
		l1 := selfCPU()
		m := map[string]float64{}
		if s.name == "pushgate" {
			m = scrapeMetrics(s.url)
		}
		heap := debugMem(s)
		dt := b.t.Sub(a.t).Seconds()
		cpuPct := 100 * (b.cpu() - a.cpu()) / dt
		r := Record{Server: s.name, Scenario: "idle", Level: fmt.Sprintf("conns=%d", lv), Round: round, Conns: ready,
			DurationS: dt, CPUUserS: b.utime - a.utime, CPUSysS: b.stime - a.stime, CPUPct: cpuPct,
			RSSBaseKB: base.rssKB, RSSKB: b.rssKB, PSSKB: b.pssKB,
			RSSPerConnKB:  float64(b.rssKB-base.rssKB) / float64(ready),
			PSSPerConnKB:  float64(b.pssKB-base.pssKB) / float64(ready),
			HeapKB:        heap,
			SlabPerConnKB: float64(b.slabKB-base.slabKB) / float64(ready),
			SockMemKB:     b.sockPages * 4,
			IdleCPUPer10k: cpuPct * 10000 / float64(ready),
			Goroutines:    m["go_goroutines"], Threads: b.threads,
			LoaderCPUPct: 100 * (l1 - l0) / dt,
			Syscw:        b.syscw - a.syscw,
		}
		h.out(r)
	}
	return nil
}

// storm: connect n clients as fast as --inflight allows.
func (h *harness) storm(ctx context.Context, s *server, round, n int) error {
	time.Sleep(300 * time.Millisecond)
	a, _ := readSample(s.pid)
	l0 := selfCPU()
	t0 := time.Now()
	cfg := h.loaderConfig(s, n, 0, 0)
	l, err := runner.Start(cfg)
	if err != nil {
		return err
	}
	<-l.Ramped()
	dt := time.Since(t0).Seconds()
	b, _ := readSample(s.pid)
	l1 := selfCPU()
	ready := l.Progress().Ready
	rs := l.Finish(nil, nil, false)
	sum := rs[len(rs)-1]
	h.out(Record{Server: s.name, Scenario: "storm", Level: fmt.Sprintf("conns=%d", n), Round: round, Conns: ready,
		DurationS: dt, CPUUserS: b.utime - a.utime, CPUSysS: b.stime - a.stime, CPUPct: 100 * (b.cpu() - a.cpu()) / dt,
		ConnectsPerS: float64(ready) / dt, ConnectP50: sum.ConnectP50Ms, ConnectP99: sum.ConnectP99Ms,
		CPUmsPer1kCon: (b.cpu() - a.cpu()) * 1000 / float64(ready) * 1000,
		Errors:        sum.Failed, FirstError: sum.FirstError, RSSKB: b.rssKB, LoaderCPUPct: 100 * (l1 - l0) / dt})
	return nil
}

// fanoutSpec is one stepped fan-out run.
type fanoutSpec struct {
	scenario string
	subs     int
	payload  int
	rates    []float64 // events/s per step
	burst    int
	slow     float64
	step     time.Duration
	keep     float64 // always run the steps up to this rate (the common comparison points)
}

func (f fanoutSpec) level(rate float64) string {
	l := fmt.Sprintf("subs=%d,payload=%d,rate=%g", f.subs, f.payload, rate)
	if f.burst > 1 {
		l += fmt.Sprintf(",burst=%d", f.burst)
	}
	if f.slow > 0 {
		l += fmt.Sprintf(",slow=%g", f.slow)
	}
	return l
}

// fanout: one stream, f.subs subscribers, stepped publish rate.
func (h *harness) fanout(ctx context.Context, s *server, round int, f fanoutSpec) error {
	time.Sleep(300 * time.Millisecond)
	base, _ := readSample(s.pid)
	l, err := h.ramp(ctx, s, f.subs, h.rampRate, f.slow, 0)
	if err != nil {
		return err
	}
	time.Sleep(h.settle)
	burst := max(f.burst, 1)
	pub := publish.New(publish.Config{URL: s.url, Token: s.token, Namespace: "bench", Name: "tick",
		PayloadBytes: f.payload, Conns: burst})
	type win struct {
		a, b    sample
		l0, l1  float64
		m0, m1  map[string]float64
		peakRSS int64
		healthy int64
		d0, d1  int64
	}
	var wins []win
	var steps []runner.Step
	for i, rate := range f.rates {
		if ctx.Err() != nil {
			break
		}
		var w win
		if s.name == "pushgate" {
			w.m0 = scrapeMetrics(s.url)
		}
		p0 := l.Progress()
		w.healthy = p0.Ready
		w.d0 = p0.Deliveries
		w.a, _ = readSample(s.pid)
		w.l0 = selfCPU()
		// background RSS peak sampler
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var peak int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if x, err := readSample(s.pid); err == nil && x.rssKB > peak {
						peak = x.rssKB
					}
				}
			}
		}()
		st := pub.Run(ctx, i, rate, burst, f.step)
		// settle: wait until deliveries stop growing (backlog drained), at most 3 s
		last, lastT := l.Progress().Deliveries, time.Now()
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			d := l.Progress().Deliveries
			if d != last {
				last, lastT = d, time.Now()
			} else if time.Since(lastT) >= 300*time.Millisecond {
				break
			}
		}
		w.b, _ = readSample(s.pid)
		w.l1 = selfCPU()
		close(stop)
		wg.Wait()
		w.peakRSS = max(peak, w.b.rssKB)
		if s.name == "pushgate" {
			w.m1 = scrapeMetrics(s.url)
		}
		p1 := l.Progress()
		w.d1 = p1.Deliveries
		wins = append(wins, w)
		steps = append(steps, runner.StepFrom(st, p1.Ready))
		offered := rate * float64(w.healthy-int64(float64(f.subs)*f.slow))
		got := float64(w.d1-w.d0) / f.step.Seconds()
		fmt.Fprintf(os.Stderr, "    %s %s step %d rate %g: %.0f deliv/s of %.0f offered, cum p99 %.1f ms, cpu %.0f%%\n",
			s.name, f.scenario, i, rate, got, offered, float64(p1.P99.Microseconds())/1000,
			100*(w.b.cpu()-w.a.cpu())/w.b.t.Sub(w.a.t).Seconds())
		if rate >= f.keep && (float64(p1.P99.Microseconds())/1000 > h.stopP99 || got < 0.8*offered) {
			break // saturated: the next step is meaningless for this server
		}
	}
	rs := l.Finish(steps, pub.Log(), true)
	sum := rs[len(rs)-1]
	for i, w := range wins {
		r := rs[i]
		del := w.d1 - w.d0
		dt := w.b.t.Sub(w.a.t).Seconds()
		rec := Record{Server: s.name, Scenario: f.scenario, Level: f.level(f.rates[i]), Round: round, Conns: r.Conns,
			Subs: f.subs, Payload: f.payload, Rate: f.rates[i], Burst: burst, SlowFrac: f.slow,
			DurationS: r.DurationS, Offered: f.rates[i] * float64(w.healthy-int64(float64(f.subs)*f.slow)),
			Delivered: float64(r.Deliveries) / r.DurationS, Deliveries: r.Deliveries, Published: r.Published,
			Lost: r.Lost, Errors: r.Errors,
			CPUUserS: w.b.utime - w.a.utime, CPUSysS: w.b.stime - w.a.stime, CPUPct: 100 * (w.b.cpu() - w.a.cpu()) / dt,
			P50: r.P50Ms, P90: r.P90Ms, P99: r.P99Ms, P999: r.P999Ms, Max: r.MaxMs,
			Syscw: w.b.syscw - w.a.syscw, RSSBaseKB: base.rssKB, RSSKB: w.b.rssKB, PSSKB: w.b.pssKB, RSSPeakKB: w.peakRSS,
			SockMemKB: w.b.sockPages * 4, Threads: w.b.threads,
			LoaderCPUPct: 100 * (w.l1 - w.l0) / dt, FirstError: r.FirstError}
		if del > 0 {
			rec.CPUPerDelUs = (w.b.cpu() - w.a.cpu()) / float64(del) * 1e6
			rec.UserPerDelUs = (w.b.utime - w.a.utime) / float64(del) * 1e6
			rec.SysPerDelUs = (w.b.stime - w.a.stime) / float64(del) * 1e6
			rec.SyscwPerDel = float64(rec.Syscw) / float64(del)
		}
		if w.m0 != nil && w.m1 != nil {
			rec.PGWrites = int64(w.m1["pushgate_write_syscalls_total"] - w.m0["pushgate_write_syscalls_total"])
			if del > 0 {
				rec.PGWritesPerDel = float64(rec.PGWrites) / float64(del)
			}
			rec.Goroutines = w.m1["go_goroutines"]
		}
		if i == len(wins)-1 {
			rec.Slow, rec.SlowClosed, rec.Dropped = sum.Slow, sum.SlowClosed, sum.Dropped
			if rec.FirstError == "" {
				rec.FirstError = sum.FirstError
			}
			if rec.Errors == 0 {
				rec.Errors = sum.Errors
			}
			if rec.Lost == 0 {
				rec.Lost = sum.Lost
			}
		}
		h.out(rec)
	}
	return nil
}
