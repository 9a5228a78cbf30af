package publish

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushgate/pushgate/loadtest/hist"
)

// Config configures a Publisher.
type Config struct {
	URL          string // base URL, e.g. http://127.0.0.1:8080
	Token        string // bearer token with the event-sender role
	Namespace    string // event namespace, default "bench"
	Name         string // event name, default "tick"
	PayloadBytes int    // size of the payload object (minimum is the stamp itself)
	Conns        int    // concurrent POSTers, default 1 (keeps seq order)
	Client       *http.Client
}

// Entry is one published event.
type Entry struct {
	Seq   int64 `json:"q"`
	Step  int   `json:"s"`
	Sched int64 `json:"t"` // scheduled time (= payload.sentAt)
	Start int64 `json:"a"` // POST started
	Done  int64 `json:"d"` // response received
	OK    bool  `json:"ok"`
}

// StepStats summarises one Run.
type StepStats struct {
	Step      int
	Rate      float64
	Burst     int
	Duration  time.Duration
	Published int64 // accepted events
	Errors    int64
	FirstErr  string
	// Late is how long after its scheduled time each POST started.
	Late *hist.Histogram
}

// Publisher posts events; one Run at a time.
type Publisher struct {
	cfg     Config
	mu      sync.Mutex
	log     []Entry
	next    int64
	lastErr string
}

// New returns a publisher.
func New(cfg Config) *Publisher {
	if cfg.Namespace == "" {
		cfg.Namespace = "bench"
	}
	if cfg.Name == "" {
		cfg.Name = "tick"
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Conns, DisableCompression: true},
		}
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return &Publisher{cfg: cfg, next: 1}
}

// Log returns a copy of every entry so far, in seq order.
func (p *Publisher) Log() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]Entry(nil), p.log...)
	sortEntries(out)
	return out
}

type job struct {
	seq   int64
	sched int64
}

// Run publishes rate events/s in ticks of burst events for d (or until ctx
// ends), then waits for the POSTs in flight.
func (p *Publisher) Run(ctx context.Context, step int, rate float64, burst int, d time.Duration) StepStats {
	st := StepStats{Step: step, Rate: rate, Burst: max(burst, 1), Duration: d, Late: hist.New()}
	if rate <= 0 {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
		return st
	}
	interval := time.Duration(float64(st.Burst) / rate * float64(time.Second))
	jobs := make(chan job, 1<<16)
	var wg sync.WaitGroup
	var smu sync.Mutex
	for i := 0; i < p.cfg.Conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				e := p.post(step, j)
				smu.Lock()
				st.Late.Record(time.Duration(e.Start - e.Sched))
				if e.OK {
					st.Published++
				} else {
					st.Errors++
				}
				smu.Unlock()
			}
		}()
	}
	t0 := time.Now()
	end := t0.Add(d)
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for k := 0; ; k++ {
		at := t0.Add(time.Duration(k) * interval)
		if !at.Before(end) {
			break
		}
		timer.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			break loop
		case <-timer.C:
		}
		for b := 0; b < st.Burst; b++ {
			jobs <- job{seq: p.next, sched: at.UnixNano()}
			p.next++
		}
	}
	close(jobs)
	wg.Wait()
	if st.Errors > 0 {
		st.FirstErr = p.LastError()
	}
	return st
}

// Body returns the JSON body of one event (exported for tests and tools).
func (p *Publisher) Body(seq int64, step int, sched int64) []byte {
	b := make([]byte, 0, 160+p.cfg.PayloadBytes)
	b = append(b, `{"namespace":`...)
	b = strconv.AppendQuote(b, p.cfg.Namespace)
	b = append(b, `,"name":`...)
	b = strconv.AppendQuote(b, p.cfg.Name)
	b = append(b, `,"timestamp":"`...)
	b = time.Unix(0, sched).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","payload":`...)
	start := len(b)
	b = append(b, `{"sentAt":`...)
	b = strconv.AppendInt(b, sched, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(step), 10)
	b = append(b, `,"pad":"`...)
	pad := p.cfg.PayloadBytes - (len(b) - start) - 2 // closing `"}`
	for i := 0; i < pad; i++ {
		b = append(b, 'x')
	}
	return append(b, `"}}`...)
}

func (p *Publisher) post(step int, j job) Entry {
	e := Entry{Seq: j.seq, Step: step, Sched: j.sched, Start: time.Now().UnixNano()}
	body := p.Body(j.seq, step, j.sched)
	req, err := http.NewRequest(http.MethodPost, p.cfg.URL+"/event/v1/events", bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		if p.cfg.Token != "" {
			req.Header.Set("Authorization", "Bearer "+p.cfg.Token)
		}
		var resp *http.Response
		resp, err = p.cfg.Client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			e.OK = resp.StatusCode == 200 || resp.StatusCode == 202
			if !e.OK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
	}
	e.Done = time.Now().UnixNano()
	p.mu.Lock()
	p.log = append(p.log, e)
	if err != nil {
		p.lastErr = err.Error()
	}
	p.mu.Unlock()
	return e
}

// LastError returns the most recent POST error, "" when none.
func (p *Publisher) LastError() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}
