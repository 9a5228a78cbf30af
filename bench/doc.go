// Package bench holds pushgate's cross-package benchmarks: the publish path from an event to
// thousands of in-memory subscribers (hub + stream registry + wire encoding), run with
// `make bench`. The side-by-side comparisons against Node socket.io and the floor server use the
// load generator in loadtest/ (see BENCHMARKS.md).
package bench
