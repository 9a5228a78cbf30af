# Side-by-side benchmarks (bench/). Included from the top-level Makefile:
#     include bench/bench.mk
#
#   make bench-compare            pushgate vs Node socket.io 4.8.4 vs the floor server, ~25 min;
#                                 writes bench/results/{results.jsonl,ratios.md,*.svg}
#   make bench-compare QUICK=1    the same in < 3 min (fewer levels, 1 round), to /tmp/pushgate-bench-quick
#   make scale-test               >= 200k connections: pushgate serve --workers N + pushload --procs N
#   make bench-webhooks           webhook deliveries/s per core, and fan-out p99 with/without webhook load (~3 min)
#   make bench-amqp               events/s through RabbitMQ vs the HTTP ingest into 5,000 WebSocket clients on one core; loss across a broker restart
#   make bench-tracing            CPU per delivery with tracing off / on / sampled at 1 %, side by side (~4 min)
#   make bench-event-path         CPU per ingested event and per webhook delivery, this tree vs OLD=<binary> (~3 min)
#   make soak                     15 min steady fan-out with 1% slow consumers and connect churn: RSS/goroutine drift
GO ?= go
BENCH_OUT   ?= $(if $(filter 1,$(QUICK)),/tmp/pushgate-bench-quick,bench/results)
BENCH_FLAGS ?=

.PHONY: bench-build bench-node-deps bench-compare scale-test soak bench-webhooks bench-amqp bench-tracing bench-event-path

bench-build:
	$(GO) build -o bin/pushgate ./cmd/pushgate
	$(GO) build -o bin/pushload ./loadtest/cmd/pushload
	$(GO) build -o bin/floor ./bench/cmd/floor
	$(GO) build -o bin/benchcmp ./bench/cmd/benchcmp
	$(GO) build -o bin/hooksink ./bench/cmd/hooksink
	$(GO) build -o bin/eventpath ./bench/cmd/eventpath

bench-node-deps:
	cd bench/node && npm ci --no-audit --no-fund --loglevel=error

## bench-compare: side-by-side harness (QUICK=1 for the < 3 min version; BENCH_FLAGS=--pprof adds CPU/heap profiles of pushgate)
bench-compare: bench-build bench-node-deps
	bin/benchcmp $(if $(filter 1,$(QUICK)),--quick) --out $(BENCH_OUT) \
		--pushgate bin/pushgate --floor bin/floor --node-script bench/node/server.mjs $(BENCH_FLAGS)

## scale-test: >= 200,000 concurrent connections (CONNS, WORKERS, PROCS, SOURCES, PUBLISH_RATE, HOLD)
scale-test: bench-build
	bench/scripts/scale-test.sh

## soak: SOAK_DURATION (default 15m) steady run with slow consumers and churn; RSS/goroutine drift
soak: bench-build
	bench/scripts/soak.sh

## bench-webhooks: webhook deliveries/s per core to a local receiver; fan-out p99 with no, fast and hanging webhooks (CONNS, RATE, HOOKS, HANG, DUR, ROUNDS)
bench-webhooks: bench-build
	bench/scripts/webhooks.sh

## bench-amqp: events/s through RabbitMQ vs the HTTP ingest into CONNS WebSocket clients on one core (RATES, DUR); loss and duplicates across a broker restart (RESTART_*, OUTAGE)
bench-amqp: bench-build rabbitmq-deps
	bench/scripts/amqp.sh

## bench-tracing: CPU per delivery with tracing off, on and sampled at 1 %, one server each, phases interleaved (CONNS, RATE, DUR, ROUNDS)
bench-tracing: bench-build
	bench/scripts/tracing.sh

## bench-event-path: pushgate CPU per ingested event (one per request, batches) and per webhook delivery
## beyond it (1 and 100 endpoints), pinned to CPU 0; OLD=<binary> runs another build side by side
## (e.g. git worktree add /tmp/main main && (cd /tmp/main && go build -o /tmp/pushgate-main ./cmd/pushgate))
bench-event-path: bench-build
	OLD=$(OLD) bench/scripts/event-path.sh
