package runner

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushgate/pushgate/loadtest/client"
	"github.com/pushgate/pushgate/loadtest/hist"
	"github.com/pushgate/pushgate/loadtest/netloop"
)

// Config describes one loader process.
type Config struct {
	Kind             client.Kind
	Client           client.Config
	Target           netip.AddrPort
	Sources          []netip.Addr // empty: kernel-chosen source
	Conns            int
	Rate             float64 // new connections per second (≤ 0: as fast as Inflight allows)
	Inflight         int     // max handshakes in flight, default 500
	Workers          int     // default GOMAXPROCS
	SlowFraction     float64 // share of clients that stop reading once ready
	HandshakeTimeout time.Duration
	IDBase           uint64 // first client id (distinct per process)
}

// Loader is a running loader.
type Loader struct {
	cfg     Config
	stats   []*wstats
	workers []*netloop.Worker
	conns   []*netloop.Conn
	sem     chan struct{}
	dialed  atomic.Int64
	stop    chan struct{}
	ramped  chan struct{}
	rampEnd chan struct{}
	runWG   sync.WaitGroup
	once    sync.Once
}

// Start launches the workers and the ramp.
func Start(cfg Config) (*Loader, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Inflight <= 0 {
		cfg.Inflight = 500
	}
	if _, err := client.ParseKind(string(cfg.Kind)); err != nil {
		return nil, err
	}
	l := &Loader{cfg: cfg, sem: make(chan struct{}, cfg.Inflight), stop: make(chan struct{}),
		ramped: make(chan struct{}), rampEnd: make(chan struct{})}
	for i := 0; i < cfg.Workers; i++ {
		s := newWStats(l.sem)
		w, err := netloop.New(netloop.Options{Target: cfg.Target, HandshakeTimeout: cfg.HandshakeTimeout,
			Hooks: netloop.Hooks{Ready: s.onReady, End: s.onEnd, Tick: s.tick}})
		if err != nil {
			for _, w := range l.workers {
				w.Stop()
			}
			return nil, err
		}
		l.stats, l.workers = append(l.stats, s), append(l.workers, w)
		l.runWG.Add(1)
		go func() { defer l.runWG.Done(); w.Run() }()
	}
	go l.ramp()
	return l, nil
}

// Ramped is closed when every client has been dialled and none is still
// handshaking (or Finish was called).
func (l *Loader) Ramped() <-chan struct{} { return l.ramped }

func (l *Loader) ramp() {
	defer close(l.rampEnd)
	defer close(l.ramped)
	t0 := time.Now()
	for i := 0; i < l.cfg.Conns; i++ {
		if l.cfg.Rate > 0 {
			at := t0.Add(time.Duration(float64(i) / l.cfg.Rate * float64(time.Second)))
			if d := time.Until(at); d > time.Millisecond {
				select {
				case <-l.stop:
					return
				case <-time.After(d):
				}
			}
		}
		select {
		case <-l.stop:
			return
		case l.sem <- struct{}{}:
		}
		id := l.cfg.IDBase + uint64(i)
		wi := i % len(l.workers)
		m, err := client.New(l.cfg.Kind, &l.cfg.Client, l.stats[wi], id)
		if err != nil {
			panic(err) // kind validated in Start
		}
		c := &netloop.Conn{ID: id, M: m, Slow: isSlow(i, l.cfg.SlowFraction)}
		if n := len(l.cfg.Sources); n > 0 {
			c.Src = l.cfg.Sources[i%n]
		}
		l.conns = append(l.conns, c)
		l.dialed.Add(1)
		l.workers[wi].Dial(c)
	}
	// Wait for the last handshakes: fill the semaphore, then give it back.
	for k := 0; k < cap(l.sem); k++ {
		select {
		case <-l.stop:
			return
		case l.sem <- struct{}{}:
		}
	}
	for k := 0; k < cap(l.sem); k++ {
		<-l.sem
	}
}

// isSlow spreads the slow clients evenly: client i is slow when
// floor((i+1)·f) > floor(i·f).
func isSlow(i int, f float64) bool {
	if f <= 0 {
		return false
	}
	return int(float64(i+1)*f) > int(float64(i)*f)
}

// Progress is a live snapshot (safe from any goroutine).
type Progress struct {
	Dialed, Ready, Inflight, Failed, Dropped, SlowClosed, Deliveries int64
	P99                                                              time.Duration
}

// Progress returns counters and the latency p99 so far (up to one worker
// tick old).
func (l *Loader) Progress() Progress {
	p := Progress{Dialed: l.dialed.Load()}
	h := hist.New()
	for _, s := range l.stats {
		p.Ready += s.ready.Load()
		p.Failed += s.failed.Load()
		p.Dropped += s.dropped.Load()
		p.SlowClosed += s.slowClosed.Load()
		p.Deliveries += s.deliveries.Load()
		s.mu.Lock()
		h.Merge(s.cum)
		s.mu.Unlock()
	}
	p.P99 = h.Quantile(0.99)
	p.Inflight = max(0, p.Dialed-p.Ready-p.Failed-p.Dropped-p.SlowClosed)
	return p
}

// String renders a progress line.
func (p Progress) String() string {
	return fmt.Sprintf("dialed %d ready %d inflight %d failed %d dropped %d slow_closed %d deliveries %d p99 %.2fms",
		p.Dialed, p.Ready, p.Inflight, p.Failed, p.Dropped, p.SlowClosed, p.Deliveries, float64(p.P99.Microseconds())/1000)
}

// stopAll ends the ramp and the workers (idempotent).
func (l *Loader) stopAll() {
	l.once.Do(func() {
		close(l.stop)
		<-l.rampEnd
		var wg sync.WaitGroup
		for _, w := range l.workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.Stop() }()
		}
		wg.Wait()
		l.runWG.Wait()
	})
}
