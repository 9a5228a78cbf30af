#!/usr/bin/env bash
# RabbitMQ benchmark (make bench-amqp), in one run, side by side, pushgate pinned to one core
# (taskset -c PG_CPU), pushload and the broker on the other:
#   1. fan-out into CONNS Socket.IO WebSocket clients at each publish rate of RATES (events/s):
#      events through the HTTP ingest into the embedded bus ("ingest"), then the same through
#      RabbitMQ ("amqp": --amqp-url; the ingest publishes to the exchange as the ADSP event service
#      does, with a publisher confirm, and the instance's queue feeds the hub);
#   2. loss and duplicates across a broker restart: RESTART_RATE events/s to RESTART_CONNS clients
#      for RESTART_DUR while the broker is stopped OUTAGE seconds after the start and started again.
# Figures go to $OUT/amqp.txt (BENCHMARKS.md §2e). Needs Debian's rabbitmq-server (make rabbitmq-deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/scripts/lib.sh

CONNS=${CONNS:-5000}
RATES=${RATES:-20,50,100,200}
DUR=${DUR:-10s}
RESTART_CONNS=${RESTART_CONNS:-1000}
RESTART_RATE=${RESTART_RATE:-100}
RESTART_DUR=${RESTART_DUR:-40s}
OUTAGE=${OUTAGE:-5}
PG_CPU=${PG_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-/tmp/pushgate-bench-amqp}
PG=${PG:-bin/pushgate}
LOAD=${LOAD:-bin/pushload}
RMQ_SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server

rm -rf "$OUT" && mkdir -p "$OUT"
RMQ=$(mktemp -d /tmp/pushgate-bench-rabbit.XXXXXX)
RMQ_PORT=$(free_port)
mkdir -p "$RMQ/home" "$RMQ/mnesia" "$RMQ/log"
printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\ndisk_free_limit.absolute = 1MB\n' "$RMQ_PORT" >"$RMQ/rabbitmq.conf"
echo '[].' >"$RMQ/enabled_plugins"
RMQ_ENV=(HOME="$RMQ/home" RABBITMQ_NODENAME="pgbench$$@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	RABBITMQ_NODE_PORT="$RMQ_PORT" RABBITMQ_DIST_PORT="$(free_port)" RABBITMQ_MNESIA_BASE="$RMQ/mnesia"
	RABBITMQ_LOG_BASE="$RMQ/log" RABBITMQ_CONFIG_FILE="$RMQ/rabbitmq.conf"
	RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ/enabled_plugins"
	RABBITMQ_PID_FILE="$RMQ/pid")
AMQP_URL="amqp://guest:guest@127.0.0.1:$RMQ_PORT/"

rabbit_start() {
	start_bg "$OUT/rabbitmq.log" env "${RMQ_ENV[@]}" taskset -c "$LOAD_CPU" "$RMQ_SERVER"
	local i
	for ((i = 0; i < 900; i++)); do
		grep -q 'Starting broker.*completed' "$OUT/rabbitmq.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "rabbitmq did not start" >&2
	return 1
}
rabbit_stop() {
	local pid
	pid=$(cat "$RMQ/pid")
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	rm -f "$RMQ/pid"
	: >"$OUT/rabbitmq.log"
}

# pushgate MODE: starts pushgate on one core (MODE ingest or amqp); sets URL, PG_PID, TOKEN file
pushgate() {
	local data extra=()
	data=$(mktemp -d /tmp/pushgate-bench-amqp-data.XXXXXX)
	[ "$1" = amqp ] && extra=(--amqp-url "$AMQP_URL")
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	start_bg "$OUT/pushgate-$1.log" taskset -c "$PG_CPU" "$PG" serve --listen "127.0.0.1:$PORT" --data-dir "$data" --log-level warn "${extra[@]}"
	PG_PID=$BG_PID
	wait_healthy "$URL" 60
	mint_token "$PG" "$data" >"$OUT/token"
	local i
	for ((i = 0; i < 600; i++)); do curl -fsS -o /dev/null "$URL/readyz" && break; sleep 0.1; done
}
stop_pg() { kill -TERM -- "-$PG_PID" 2>/dev/null || true; while kill -0 "$PG_PID" 2>/dev/null; do sleep 0.1; done; }
summary() { # FILE LABEL: one row per step
	jq -r --arg l "$2" 'select(.summary != true) | [$l, .publish_rate, .published, .publish_errors, .deliveries, .rate, .lost, .dup, .p50_ms, .p99_ms] | @tsv' "$1" |
		awk -F'\t' '{printf "%-8s %8d %10d %8d %12d %12.0f %6d %6d %9.2f %9.2f\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}'
}
header() { printf '%-8s %8s %10s %8s %12s %12s %6s %6s %9s %9s\n' mode ev_per_s published pub_err deliveries deliv_per_s lost dup p50_ms p99_ms; }

rabbit_start
{
	echo "## fan-out: $CONNS WebSocket clients, pushgate on one core (taskset -c $PG_CPU), $DUR per rate"
	header
} | tee "$OUT/amqp.txt"
for mode in ingest amqp; do
	pushgate "$mode"
	taskset -c "$LOAD_CPU" "$LOAD" --url "$URL" --token-file "$OUT/token" --setup-stream --conns "$CONNS" --rate 2000 \
		--publish-rate "$RATES" --publish-conns 4 --duration "$DUR" --progress 0 --scenario "$mode" >"$OUT/$mode.out" 2>"$OUT/$mode.err"
	summary "$OUT/$mode.out" "$mode" | tee -a "$OUT/amqp.txt"
	stop_pg
done

{
	echo "## broker restart: $RESTART_CONNS clients, $RESTART_RATE events/s for $RESTART_DUR, broker down for ${OUTAGE}s after 10 s"
	header
} | tee -a "$OUT/amqp.txt"
pushgate amqp
taskset -c "$LOAD_CPU" "$LOAD" --url "$URL" --token-file "$OUT/token" --setup-stream --conns "$RESTART_CONNS" --rate 2000 \
	--publish-rate "$RESTART_RATE" --duration "$RESTART_DUR" --drain 10s --progress 0 --scenario restart >"$OUT/restart.out" 2>"$OUT/restart.err" &
LOAD_PID=$!
sleep 15 # the clients connect, then 10 s of events
rabbit_stop
sleep "$OUTAGE"
t0=$(date +%s.%N)
rabbit_start
wait "$LOAD_PID" || true
summary "$OUT/restart.out" restart | tee -a "$OUT/amqp.txt"
echo "broker back after $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s of start-up; publish errors are ingest POSTs refused (503) while the broker was down" | tee -a "$OUT/amqp.txt"
stop_pg
rabbit_stop
rm -rf "$RMQ"
echo "figures in $OUT/amqp.txt"
