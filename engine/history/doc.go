// Package history keeps a bounded, in-memory window of recent events for replay: SSE
// Last-Event-ID and Socket.IO connection state recovery. It holds at most Size events and none
// older than Age; a request for an id outside the window is a gap, which callers must signal
// (contract.md: SSE "event: reset", Socket.IO "not recovered"), never paper over.
package history
