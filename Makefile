# pushgate — every command a newcomer needs. See README.md.
GO        ?= go
BIN       := bin/pushgate
LISTEN    ?= 127.0.0.1:8080
DATA_DIR  ?= ./data
# every build tag used in the repository (grep '//go:build'): `make test` vets the files behind
# them too, so a test that only runs under its own target still compiles (TestEveryBuildTagIsVetted checks
# this list against the sources: buildtags_test.go)
BUILD_TAGS := cluster,soak

.PHONY: test-webhook-kill promtool browser-deps screenshots bench-micro run-kafka run-cluster cluster-up cluster-down cluster-kill-test nginx-deps all build run test test-go test-race interop-deps conformance-server conformance bench fuzz vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/pushgate

## run: start the server on embedded defaults (no Kafka, no external services)
run: build
	./$(BIN) serve --listen $(LISTEN) --data-dir $(DATA_DIR)

## run-kafka: a development Kafka broker (kfake) and two pushgate instances on it
run-kafka:
	scripts/run-kafka.sh

## run-cluster: 3 Kafka-mode instances behind Debian's nginx in plain round-robin (no affinity), 400
## stock clients, one instance killed; then the forwarding overhead figures (docs/DEPLOY.md)
run-cluster: interop-deps nginx-deps
	mkdir -p bin
	CLUSTER_FIGURES=$(CURDIR)/bin/cluster-figures.md $(GO) test -tags cluster -count=1 -v -timeout 8m \
		-run 'TestClusterNginx|TestClusterForwardingOverhead' ./interop/
	@echo "figures: bin/cluster-figures.md"
	@if [ -n "$(KEEP)" ]; then scripts/run-cluster.sh up; fi

## cluster-up: the development broker (kafkadev), 3 Kafka-mode instances and nginx round-robin left
## running in ./data-cluster, URLs and a token printed (also `make run-cluster KEEP=1`); cluster-down stops them
cluster-up: interop-deps nginx-deps
	scripts/run-cluster.sh up

cluster-down:
	scripts/run-cluster.sh down

## cluster-kill-test: with the cluster up (started when not), 50 socket.io + 20 SSE clients through
## nginx, a steady event stream, each instance killed with SIGKILL in turn: per kill the share of
## clients disconnected, reconnect times, lost and duplicated events (docs/DEPLOY.md)
cluster-kill-test: interop-deps nginx-deps
	scripts/run-cluster.sh kill-test

nginx-deps:
	@command -v nginx >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light)

## rabbitmq-deps: Debian's rabbitmq-server for the RabbitMQ tests (engine/amqp, interop/amqp_test.go),
## installed when missing; the tests start their own node on free ports (RUNLEVEL=1: the package's
## own service is not started)
rabbitmq-deps:
	@test -x /usr/lib/rabbitmq/bin/rabbitmq-server || (apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server)

## test: install what the tests need (Go modules, pinned npm packages, promtool, chromium, rabbitmq-server) and run every test
test: interop-deps promtool browser-deps rabbitmq-deps
	$(GO) mod download
	$(GO) vet ./...
	$(GO) vet -tags $(BUILD_TAGS) ./...
	$(GO) test -count=1 -timeout 9m ./...

test-race:
	$(GO) test -race -count=1 -timeout 9m ./...

interop-deps:
	cd interop && npm ci --no-audit --no-fund --loglevel=error

## test-webhook-kill: kill -9 under full webhook load (10,000 deliveries pending; `make test` runs 2,000)
test-webhook-kill:
	mkdir -p bin
	WEBHOOK_KILL_DELIVERIES=$${WEBHOOK_KILL_DELIVERIES:-10000} WEBHOOK_KILL_FIGURES=$(CURDIR)/bin/webhook-kill.txt \
		$(GO) test -count=1 -v -timeout 5m -run 'TestWebhooksKill9UnderLoad' ./interop/
	@cat bin/webhook-kill.txt

## promtool: Prometheus' rule checker for deploy/deploy_test.go, taken from Debian's prometheus package
## (only the promtool binary is extracted: installing the package would also start a Prometheus server)
promtool:
	@command -v promtool >/dev/null 2>&1 || { set -e; d=$$(mktemp -d); cd $$d; \
	  apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus; }; \
	  dpkg-deb -x prometheus_*.deb x && install -m 0755 x/usr/bin/promtool /usr/local/bin/promtool; \
	  cd /; rm -rf $$d; promtool --version | head -1; }

## browser-deps: Debian's chromium for the real-browser tests (browser/), installed when missing
browser-deps:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

## screenshots: run the browser tests and write the console screenshots to docs/console/*.png
screenshots: interop-deps browser-deps
	PUSHGATE_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run 'TestConsole$$|TestConsoleWebhooks$$|TestReconnectAfterRestart' ./browser/

## conformance-server: the fixture the official suites expect, on :3000
conformance-server: build
	./$(BIN) conformance-server --listen :3000

## conformance: run the official Engine.IO v4 and Socket.IO v5 suites (SOCKETIO_REPO=path to a socketio/socket.io clone)
conformance:
	SOCKETIO_REPO=$(SOCKETIO_REPO) RUNS=$${RUNS:-5} scripts/conformance.sh

## bench: the side-by-side comparison (pushgate vs Node socket.io 4.8.4 vs the floor server; QUICK=1 for ~3 min)
bench: bench-compare

## bench-micro: Go micro-benchmarks (codecs, publish path, Kafka decode, cluster link)
bench-micro:
	$(GO) test -run=NONE -bench=. -benchmem ./protocol/... ./bench/ ./engine/source/... ./engine/cluster/... ./engine/amqp/adspevent/

## fuzz: run each fuzz target for FUZZTIME (default 10s)
fuzz:
	scripts/fuzz.sh $${FUZZTIME:-10s}

vet:
	$(GO) vet ./...
	$(GO) vet -tags $(BUILD_TAGS) ./...

clean:
	rm -rf bin

include bench/bench.mk
