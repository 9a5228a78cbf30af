// Package loadtest is pushgate's load generator. The code lives in the
// sub-packages; this package only holds cross-cutting tests (k6 script
// syntax, end to end against the conformance fixture).
//
//	hist           log-linear latency histogram (1 µs–60 s, ≤1% error, mergeable, JSON)
//	client         per-connection state machines: ws, upgrade (polling→WebSocket), sse
//	netloop        epoll workers driving the machines on non-blocking sockets
//	publish        scheduled publisher (POST /event/v1/events, no coordinated omission)
//	runner         ramp, source addresses, progress, per-step results, loss accounting
//	report         the JSON result line, merging across processes, the human table
//	cmd/pushload   the command (flags: pushload -h), --procs re-exec mode
//	internal/fakesrv  in-process fake of the product contract for tests
//
// Quick start against the product (embedded mode):
//
//	go build -o bin/pushgate ./cmd/pushgate && go build -o bin/pushload ./loadtest/cmd/pushload
//	bin/pushgate serve --listen 127.0.0.1:8080 --data-dir /tmp/pg &
//	TOKEN=$(bin/pushgate token --data-dir /tmp/pg --tenant demo --ttl 24h \
//	  --roles stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin)
//	bin/pushload --url http://127.0.0.1:8080 --token "$TOKEN" --setup-stream \
//	  --conns 5000 --rate 1000 --sources 4 --publish-rate 1,5,10 --duration 20s
//
// Against the conformance fixture (no tenant, no publisher: connect, pings):
//
//	bin/pushgate conformance-server --listen 127.0.0.1:3100 &
//	bin/pushload --url http://127.0.0.1:3100 --namespace / --conns 2000 --sources 2 --duration 5s
package loadtest
