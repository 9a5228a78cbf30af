package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pushgate/pushgate/loadtest/publish"
	"github.com/pushgate/pushgate/loadtest/report"
	"github.com/pushgate/pushgate/loadtest/runner"
)

// runSingle is the whole run in this process.
func runSingle(ctx context.Context, o *options) error {
	cfg, err := o.runnerConfig()
	if err != nil {
		return err
	}
	pub, err := o.preparePublisher(ctx)
	if err != nil {
		return err
	}
	l, err := runner.Start(cfg)
	if err != nil {
		return err
	}
	stopProgress := startProgress(o, "", l.Progress)
	waitRamped(ctx, l)
	steps := o.runSteps(ctx, pub, func() int64 { return l.Progress().Ready })
	results := l.Finish(steps, logOf(pub), pub != nil)
	stopProgress()
	return o.emit(results)
}

// preparePublisher creates the stream (if asked) and the publisher (nil without --publish-rate).
func (o *options) preparePublisher(ctx context.Context) (*publish.Publisher, error) {
	tok := o.publishTok
	if tok == "" {
		tok = o.token
	}
	base := o.publishURL
	if base == "" {
		base = o.url
	}
	if o.setupStream {
		if err := publish.EnsureStream(ctx, http.DefaultClient, base, tok, o.stream, o.eventNS, o.eventName); err != nil {
			return nil, err
		}
	}
	if len(o.rates) == 0 {
		return nil, nil
	}
	return publish.New(publish.Config{URL: base, Token: tok, Namespace: o.eventNS, Name: o.eventName,
		PayloadBytes: o.payload, Conns: o.publishConns}), nil
}

func logOf(p *publish.Publisher) []publish.Entry {
	if p == nil {
		return nil
	}
	return p.Log()
}

func waitRamped(ctx context.Context, l *runner.Loader) {
	select {
	case <-ctx.Done():
	case <-l.Ramped():
	}
}

// runSteps publishes each rate for --duration (or just holds), then drains.
func (o *options) runSteps(ctx context.Context, pub *publish.Publisher, ready func() int64) []runner.Step {
	var steps []runner.Step
	if pub == nil {
		sleepCtx(ctx, o.duration)
		return []runner.Step{{Index: 0, Duration: o.duration, Conns: ready()}}
	}
	for i, r := range o.rates {
		if ctx.Err() != nil {
			break
		}
		st := pub.Run(ctx, i, r, o.burst, o.duration)
		steps = append(steps, runner.StepFrom(st, ready()))
		fmt.Fprintf(os.Stderr, "step %d: rate %.1f/s published %d errors %d late p99 %v %s\n",
			i, r, st.Published, st.Errors, st.Late.Quantile(0.99), st.FirstErr)
	}
	sleepCtx(ctx, o.drain)
	return steps
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// startProgress prints a line every o.progress; the returned func stops it.
func startProgress(o *options, prefix string, snap func() runner.Progress) func() {
	if o.progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(o.progress)
		defer t.Stop()
		start, prev, prevT := time.Now(), int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				p := snap()
				rate := float64(p.Deliveries-prev) / now.Sub(prevT).Seconds()
				prev, prevT = p.Deliveries, now
				fmt.Fprintf(os.Stderr, "%s[%5.0fs] conns %d/%d deliv/s %.0f errors %d | %s\n", prefix,
					now.Sub(start).Seconds(), p.Ready, o.conns, rate, p.Failed+p.Dropped, p)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// label fills the run-wide fields of every result.
func (o *options) label(rs []report.Result) {
	for i := range rs {
		rs[i].Scenario, rs[i].Kind, rs[i].Procs = o.scenario, o.kind, o.procs
		rs[i].TargetConns, rs[i].PayloadBytes = o.conns, o.payload
		if len(o.rates) == 0 {
			rs[i].PayloadBytes = 0
		}
		if rs[i].Summary && len(o.rates) > 0 {
			rs[i].PublishRate, rs[i].Burst = o.rates[len(o.rates)-1], o.burst
		}
	}
}

// emit prints the JSON lines (stdout, optional file) and the table (stderr).
func (o *options) emit(rs []report.Result) error {
	o.label(rs)
	var file strings.Builder
	for i := range rs {
		full, err := json.Marshal(&rs[i])
		if err != nil {
			return err
		}
		file.Write(full)
		file.WriteByte('\n')
		line := full
		if !o.hists {
			r := rs[i]
			r.StripHists()
			if line, err = json.Marshal(&r); err != nil {
				return err
			}
		}
		fmt.Fprintln(os.Stdout, string(line))
	}
	if o.jsonOut != "" {
		if err := os.WriteFile(o.jsonOut, []byte(file.String()), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr)
	report.Human(os.Stderr, rs)
	return nil
}
