// Package report defines the load generator's result record — one JSON line
// per load step plus one summary line — and merges records produced by
// several loader processes (their histograms travel serialised, so merged
// percentiles are exact to the histogram's 1% resolution).
//
// The bench harness can read these lines with encoding/json into Result and
// call Merge / Finalize itself.
package report
