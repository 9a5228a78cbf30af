#!/usr/bin/env bash
# Event-path benchmark (make bench-event-path, BENCHMARKS.md §2d): pushgate's CPU per ingested event
# (POST /event/v1/events, one event per request and batches) and per webhook delivery beyond the
# ingest (1 and 100 endpoints, 100 B events), side by side for two binaries in one run: PG (this
# tree) and OLD (e.g. built from main), rounds interleaved; EARLY=1 adds PG with --webhook-early-ack. Each pushgate is pinned to CPU 0
# (taskset), the publisher and the receiver (hooksink) to CPU 1.
#   OLD=/tmp/pushgate-main ROUNDS=3 EVENTS=4000 bench/scripts/event-path.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/scripts/lib.sh

ROUNDS=${ROUNDS:-3}
EVENTS=${EVENTS:-4000}
CONC=${CONC:-16}
BATCH=${BATCH:-16}
FANOUT_EVENTS=${FANOUT_EVENTS:-200}
OUT=${OUT:-/tmp/pushgate-bench-event-path}
PG=${PG:-bin/pushgate}
OLD=${OLD:-}
SINK=${SINK:-bin/hooksink}
EP=${EP:-bin/eventpath}

rm -rf "$OUT" && mkdir -p "$OUT"
SINK_PORT=$(free_port)
SINK_URL=http://127.0.0.1:$SINK_PORT
start_bg "$OUT/hooksink.log" taskset -c 1 "$SINK" --listen "127.0.0.1:$SINK_PORT"

declare -A URLS PIDS TOKENS
start_pg() { # LABEL BIN [FLAGS...]
	local data port label=$1 bin=$2
	shift 2
	data=$(mktemp -d /tmp/pushgate-bench-event-path.XXXXXX)
	port=$(free_port)
	start_bg "$OUT/pushgate-$label.log" taskset -c 0 "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --log-level warn "$@"
	set -- "$label" "$bin"
	URLS[$1]=http://127.0.0.1:$port
	wait_healthy "${URLS[$1]}" 30
	PIDS[$1]=$BG_PID
	mint_token "$2" "$data" >"$OUT/token-$1"
	TOKENS[$1]=$OUT/token-$1
	local cfg=${URLS[$1]}/configuration/v2/configuration/platform/push-service hooks="" sep="" i
	for ((i = 0; i < 100; i++)); do
		hooks+="$sep\"h$i\":{\"id\":\"h$i\",\"name\":\"h$i\",\"url\":\"$SINK_URL/$1/h/$i\",\"events\":[{\"namespace\":\"bench\",\"name\":\"hundred\"}]}"
		sep=","
	done
	hooks+=",\"one\":{\"id\":\"one\",\"name\":\"one\",\"url\":\"$SINK_URL/$1/one\",\"events\":[{\"namespace\":\"bench\",\"name\":\"one\"}]}"
	curl -fsS -o /dev/null -X PATCH "$cfg" -H "Authorization: Bearer $(cat "$OUT/token-$1")" -H 'Content-Type: application/json' \
		-d "{\"operation\":\"UPDATE\",\"update\":{\"webhooks\":{$hooks}}}"
}
labels=(new)
start_pg new "$PG"
if [ -n "${EARLY:-}" ]; then # the same binary answering the ingest before the records are durable
	start_pg early "$PG" --webhook-early-ack
	labels+=(early)
fi
if [ -n "$OLD" ]; then
	start_pg old "$OLD"
	labels=(old "${labels[@]}")
fi

run() { # LABEL PHASE ARGS...
	local l=$1 phase=$2
	shift 2
	taskset -c 1 "$EP" --url "${URLS[$l]}" --token-file "${TOKENS[$l]}" --pid "${PIDS[$l]}" --conc "$CONC" --label "$l/$phase" "$@" |
		tee -a "$OUT/results.jsonl"
}
# warm-up (connections, JIT-free but page cache and pools)
for l in "${labels[@]}"; do run "$l" warmup --events 500 --name plain >/dev/null; done
for ((r = 1; r <= ROUNDS; r++)); do
	for l in "${labels[@]}"; do
		run "$l" ingest --events "$EVENTS" --name plain
		run "$l" "ingest-batch$BATCH" --events "$EVENTS" --batch "$BATCH" --name plain || true
		run "$l" webhook-1 --events "$EVENTS" --name one --sink "$SINK_URL" --want "$EVENTS"
		run "$l" "webhook-1-batch$BATCH" --events "$EVENTS" --batch "$BATCH" --name one --sink "$SINK_URL" --want "$EVENTS" || true
		run "$l" webhook-100 --events "$FANOUT_EVENTS" --name hundred --sink "$SINK_URL" --want $((FANOUT_EVENTS * 100))
	done
done
# Summary: median per (label, phase); deliveries per CPU-second beyond the ingest use the same
# round's one-per-request ingest figure.
jq -rs '
  def med: sort | .[(length / 2 | floor)];
  group_by(.label) | map({label: .[0].label, n: length,
     cpu_us_per_event: (map(.cpu_us_per_event) | med),
     cpu_us_per_delivery: (map(.cpu_us_per_delivery // empty) | if length > 0 then med else null end),
     p99_ms: (map(.p99_ms // empty) | if length > 0 then med else null end),
     allocs: (map(.allocs_per_delivery // empty) | if length > 0 then med else null end),
     failed: (map(.failed) | add)}) | .[] |
  "\(.label)\tcpu_us/event \(.cpu_us_per_event | . * 10 | round / 10)\tcpu_us/delivery \(.cpu_us_per_delivery // "-")\tp99_ms \(.p99_ms // "-")\tallocs/delivery \(.allocs // "-" | tostring | .[0:6])\tfailed \(.failed)"' \
	"$OUT/results.jsonl" | grep -v warmup | tee "$OUT/summary.txt"
echo "figures in $OUT/results.jsonl and $OUT/summary.txt"
