// Command pushgate is the push server. Subcommands:
//
//	pushgate serve               run the server (default)
//	pushgate token               print a development token
//	pushgate conformance-server  run the fixture the official Socket.IO conformance suites expect
//
// main only parses flags (each also read from PUSHGATE_<FLAG>) into engine.Config and runs
// engine.New(cfg).Run(ctx) with signal handling.
package main
