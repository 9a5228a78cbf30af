// Package runner drives one loader process: it creates the client machines,
// ramps them up at a fixed rate with a bounded number of handshakes in
// flight, spreads them over source addresses and netloop workers, reports
// progress, and at the end turns every client's bookkeeping into
// report.Result records (per step and summary).
//
// Typical use (what cmd/pushload does, and what the bench harness can do):
//
//	l, err := runner.Start(cfg)          // ramp starts immediately
//	<-l.Ramped()                         // every client dialled and settled
//	st := pub.Run(ctx, 0, rate, burst, d) // publish.Publisher (optional)
//	results := l.Finish([]runner.Step{runner.StepFrom(st, l.Progress().Ready)}, pub.Log(), true)
//
// Latencies are recorded per delivery into per-worker histograms, keyed by
// the step number carried in the payload, so a step's latency includes its
// late deliveries even if they arrive during the next step.
package runner
