package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/pushgate/pushgate/loadtest/publish"
	"github.com/pushgate/pushgate/loadtest/report"
	"github.com/pushgate/pushgate/loadtest/runner"
)

// The --procs protocol. A child ramps its share, prints {"ready":N} on
// stdout, then waits for one finishMsg on stdin (sent by the parent after the
// publisher steps and the drain), closes its sockets and prints its results
// (with histograms) as JSON lines.
type finishMsg struct {
	Steps   []runner.Step   `json:"steps"`
	Log     []publish.Entry `json:"log"`
	HaveLog bool            `json:"have_log"`
}

type readyMsg struct {
	Ready int64 `json:"ready"`
}

func runChild(ctx context.Context, o *options) error {
	cfg, err := o.runnerConfig()
	if err != nil {
		return err
	}
	l, err := runner.Start(cfg)
	if err != nil {
		return err
	}
	stop := startProgress(o, fmt.Sprintf("[child %d] ", o.idBase/childIDSpan), l.Progress)
	waitRamped(ctx, l)
	out := json.NewEncoder(os.Stdout)
	_ = out.Encode(readyMsg{Ready: l.Progress().Ready})
	var msg finishMsg
	if err := json.NewDecoder(os.Stdin).Decode(&msg); err != nil && err != io.EOF {
		return fmt.Errorf("child: reading finish message: %w", err)
	}
	results := l.Finish(msg.Steps, msg.Log, msg.HaveLog)
	stop()
	for i := range results {
		if err := out.Encode(&results[i]); err != nil {
			return err
		}
	}
	return nil
}

const childIDSpan = 1 << 32

type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	ready   chan readyMsg
	results []report.Result
	err     error
	done    chan struct{}
}

// childArgs rebuilds the command line for child k with its share of the work.
func (o *options) childArgs(k int, srcs []netip.Addr) []string {
	skip := map[string]bool{"procs": true, "json-out": true, "sources": true, "conns": true, "rate": true,
		"inflight": true, "publish-rate": true, "setup-stream": true, "child": true, "id-base": true, "hists": true}
	var args []string
	o.fs.Visit(func(f *flag.Flag) {
		if skip[f.Name] {
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	share := func(n int) int { return n/o.procs + btoi(k < n%o.procs) }
	ss := make([]string, len(srcs))
	for i, a := range srcs {
		ss[i] = a.String()
	}
	args = append(args, "--child", "--id-base="+strconv.FormatUint(uint64(k)*childIDSpan, 10),
		"--conns="+strconv.Itoa(share(o.conns)), "--inflight="+strconv.Itoa(max(1, o.inflight/o.procs)),
		"--rate="+strconv.FormatFloat(o.rate/float64(o.procs), 'f', -1, 64))
	if len(ss) > 0 {
		args = append(args, "--sources="+strings.Join(ss, ","))
	}
	return args
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sourcesFor gives child k every procs-th source (disjoint when there are
// at least procs sources).
func (o *options) sourcesFor(k int) []netip.Addr {
	var out []netip.Addr
	for i, a := range o.srcs {
		if i%o.procs == k {
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(o.srcs) > 0 {
		out = []netip.Addr{o.srcs[k%len(o.srcs)]}
	}
	return out
}

func runParent(ctx context.Context, o *options) error {
	if len(o.srcs) < o.procs {
		fmt.Fprintf(os.Stderr, "pushload: warning: %d sources for %d processes; some share a source address\n", len(o.srcs), o.procs)
	}
	pub, err := o.preparePublisher(ctx)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	children := make([]*child, o.procs)
	for k := range children {
		c, err := startChild(exe, o.childArgs(k, o.sourcesFor(k)))
		if err != nil {
			return err
		}
		children[k] = c
	}
	var ready int64
	for _, c := range children {
		select {
		case m, ok := <-c.ready:
			if !ok {
				<-c.done
				return fmt.Errorf("child exited before ready: %v", c.err)
			}
			ready += m.Ready
		case <-ctx.Done():
		}
	}
	fmt.Fprintf(os.Stderr, "all %d processes ramped: %d clients ready\n", o.procs, ready)
	steps := o.runSteps(ctx, pub, func() int64 { return ready })
	childSteps := append([]runner.Step(nil), steps...)
	for i := range childSteps {
		childSteps[i].Conns = 0 // each child counts its own clients; the merge sums them
	}
	msg, _ := json.Marshal(finishMsg{Steps: childSteps, Log: logOf(pub), HaveLog: pub != nil})
	for _, c := range children {
		_, _ = c.stdin.Write(msg)
		c.stdin.Close()
	}
	var all [][]report.Result
	for _, c := range children {
		<-c.done
		if c.err != nil {
			return fmt.Errorf("child: %w", c.err)
		}
		all = append(all, c.results)
	}
	return o.emit(mergeChildren(all))
}

// mergeChildren merges the children's results line by line (same step order).
func mergeChildren(all [][]report.Result) []report.Result {
	if len(all) == 0 {
		return nil
	}
	out := make([]report.Result, len(all[0]))
	for i := range out {
		base := all[0][i]
		merged := base // publisher fields and labels from the first child
		merged.Conns, merged.Expected, merged.Lost, merged.Dup, merged.OutOfOrder = 0, 0, 0, 0, 0
		merged.Failed, merged.Dropped, merged.Slow, merged.SlowClosed, merged.Pings = 0, 0, 0, 0, 0
		merged.ErrorKinds, merged.FirstError, merged.Latency, merged.Connect = nil, "", nil, nil
		for _, rs := range all {
			if i < len(rs) {
				merged.Merge(&rs[i])
			}
		}
		merged.Finalize()
		out[i] = merged
	}
	return out
}

func startChild(exe string, args []string) (*child, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, ready: make(chan readyMsg, 1), done: make(chan struct{})}
	var once sync.Once
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		first := true
		for sc.Scan() {
			if first {
				first = false
				var m readyMsg
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					c.err = fmt.Errorf("bad ready line %q", sc.Text())
				}
				c.ready <- m
				continue
			}
			var r report.Result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				c.err = fmt.Errorf("bad result line: %w", err)
				continue
			}
			c.results = append(c.results, r)
		}
		once.Do(func() { close(c.ready) })
		if err := cmd.Wait(); err != nil && c.err == nil {
			c.err = err
		}
	}()
	return c, nil
}
