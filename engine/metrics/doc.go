// Package metrics defines pushgate's Prometheus metrics (names prefixed pushgate_, documented in
// the README) on their own registry. Values are read from the components' atomic counters at
// scrape time, so the hot path pays nothing for them.
package metrics
