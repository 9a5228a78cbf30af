// Package waitfor is the one way tests wait: poll a condition until it holds or a deadline
// passes, then report the condition's last answer. Tests never sleep to wait (design.md); before
// this package the same loop was written out in eleven helpers and some sixty inline loops.
//
// It imports only the standard library (not even testing: TB is the part of testing.TB it
// uses), so every package of the module may use it in its tests, the leaves included.
package waitfor
