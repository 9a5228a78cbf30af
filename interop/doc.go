// Package interop holds the real-client interoperability tests of pushgate.
//
// The tests themselves are JavaScript (socketio.test.mjs, run by node's built-in test runner with the
// pinned npm socket.io-client 4.8.4); interop_test.go drives them from `go test ./interop/...`:
// it builds ./cmd/pushgate, starts `pushgate conformance-server` on a free loopback port and runs
// `node --test` against it. With INTEROP_TARGET=reference it starts reference-fixture.mjs (the real
// socket.io 4.8.4 server implementing the same fixture contract) instead, to check the tests themselves.
//
// Node.js (20+) and npm are required; node_modules is installed with `npm ci` on first use.
package interop
