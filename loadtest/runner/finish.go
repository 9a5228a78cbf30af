package runner

import (
	"slices"
	"sort"
	"time"

	"github.com/pushgate/pushgate/loadtest/client"
	"github.com/pushgate/pushgate/loadtest/hist"
	"github.com/pushgate/pushgate/loadtest/publish"
	"github.com/pushgate/pushgate/loadtest/report"
)

// Step describes one load step as the publisher ran it.
type Step struct {
	Index         int           `json:"index"`
	Rate          float64       `json:"rate"`
	Burst         int           `json:"burst"`
	Duration      time.Duration `json:"duration"`
	Conns         int64         `json:"conns"` // ready clients at the end of the step (all processes)
	Published     int64         `json:"published"`
	PublishErrors int64         `json:"publish_errors"`
	LateP99       time.Duration `json:"late_p99"`
	FirstErr      string        `json:"first_err,omitempty"`
}

// StepFrom builds a Step from the publisher's statistics.
func StepFrom(st publish.StepStats, conns int64) Step {
	return Step{Index: st.Step, Rate: st.Rate, Burst: st.Burst, Duration: st.Duration, Conns: conns,
		Published: st.Published, PublishErrors: st.Errors, LateP99: st.Late.Quantile(0.99), FirstErr: st.FirstErr}
}

// Finish stops the loader (closing every socket) and returns one Result per
// step followed by the summary. With haveLog, loss is computed against the
// publisher log (seqs whose POST started after the client was ready and
// finished before it left); otherwise from gaps in each client's seqs.
// Histograms stay attached to the results (call StripHists before printing
// compact lines). Labels (scenario, kind, payload) are the caller's.
func (l *Loader) Finish(steps []Step, log []publish.Entry, haveLog bool) []report.Result {
	l.stopAll()
	if len(steps) == 0 {
		steps = []Step{{Index: 0}}
	}
	byIdx := map[int]*report.Result{}
	out := make([]report.Result, len(steps)+1)
	for i, s := range steps {
		r := &out[i]
		r.Step, r.PublishRate, r.Burst, r.DurationS, r.Conns = s.Index, s.Rate, s.Burst, s.Duration.Seconds(), s.Conns
		r.Published, r.PublishErrors, r.PublishLateMs = s.Published, s.PublishErrors, float64(s.LateP99.Microseconds())/1000
		r.Latency = hist.New()
		r.LostMethod = "gaps"
		if haveLog {
			r.LostMethod = "publog"
		}
		byIdx[s.Index] = r
	}
	sum := &out[len(steps)]
	sum.Summary, sum.Step, sum.Latency, sum.Connect = true, -1, hist.New(), hist.New()
	sum.LostMethod = out[0].LostMethod
	for _, s := range steps {
		sum.DurationS += s.Duration.Seconds()
		sum.Published += s.Published
		sum.PublishErrors += s.PublishErrors
		sum.Conns = s.Conns
		sum.PublishLateMs = max(sum.PublishLateMs, float64(s.LateP99.Microseconds())/1000)
		if s.FirstErr != "" && sum.FirstError == "" {
			sum.FirstError = "publish: " + s.FirstErr
		}
	}
	for _, st := range l.stats {
		sum.Connect.Merge(st.connect)
		for step, h := range st.byStep {
			sum.Latency.Merge(h)
			if r := byIdx[step]; r != nil {
				r.Latency.Merge(h)
			}
		}
	}
	l.account(sum, byIdx, log, haveLog)
	for i := range out[:len(steps)] {
		if out[i].Conns == 0 {
			out[i].Conns = sum.Conns
		}
	}
	for i := range out {
		out[i].Finalize()
	}
	return out
}

// account walks every client: failures, drops, slow clients, dup/ooo and loss.
func (l *Loader) account(sum *report.Result, byIdx map[int]*report.Result, log []publish.Entry, haveLog bool) {
	byStart := slices.Clone(log)
	sort.Slice(byStart, func(i, j int) bool { return byStart[i].Start < byStart[j].Start })
	sum.ErrorKinds = map[string]int64{}
	var ready int64
	for _, c := range l.conns {
		st := c.M.State()
		sum.Pings += st.Pings
		if st.ReadyAt == 0 {
			sum.Failed++
			sum.ErrorKinds[errKind(st.Err)]++
			if sum.FirstError == "" && st.Err != nil {
				sum.FirstError = st.Err.Error()
			}
			continue
		}
		if c.Slow {
			sum.Slow++
			if st.Phase == client.Closed {
				sum.SlowClosed++
			}
			continue
		}
		if st.Phase == client.Closed {
			sum.Dropped++
			sum.ErrorKinds[errKind(st.Err)]++
			if sum.FirstError == "" && st.Err != nil {
				sum.FirstError = st.Err.Error()
			}
		} else {
			ready++
		}
		tr := &st.Track
		sum.Dup += tr.Dup
		sum.OutOfOrder += tr.OOO
		if !haveLog {
			sum.Lost += tr.Gaps()
			continue
		}
		i := sort.Search(len(byStart), func(i int) bool { return byStart[i].Start >= st.ReadyAt })
		for ; i < len(byStart) && byStart[i].Start <= st.EndAt; i++ {
			e := &byStart[i]
			if !e.OK || e.Done > st.EndAt {
				continue
			}
			sum.Expected++
			r := byIdx[e.Step]
			if r != nil {
				r.Expected++
			}
			if !tr.Has(e.Seq) {
				sum.Lost++
				if r != nil {
					r.Lost++
				}
			}
		}
	}
	if sum.Conns == 0 {
		sum.Conns = ready
	}
	if len(sum.ErrorKinds) == 0 {
		sum.ErrorKinds = nil
	}
}
