#!/usr/bin/env bash
# Webhook benchmark (make bench-webhooks): in one run, side by side,
#   1. deliveries per second and per CPU-second of pushgate to a fast local receiver (hooksink);
#   2. the Socket.IO fan-out latency (pushload, CONNS WebSocket subscribers, RATE events/s) with
#      no webhooks, with HOOKS webhooks per event to the fast receiver, and with the same plus
#      HANG webhooks to a receiver that never answers — ROUNDS rounds, phases interleaved
#      (post_late_p99: how late the publisher's POSTs started, which the fan-out latency includes:
#      an ingest waiting for its webhook records delays the next POST of a one-connection publisher).
# Figures go to $OUT/webhooks.txt (BENCHMARKS.md §2d).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/scripts/lib.sh

CONNS=${CONNS:-2000}
RATE=${RATE:-100}
HOOKS=${HOOKS:-10}
HANG=${HANG:-5}
DUR=${DUR:-20s}
ROUNDS=${ROUNDS:-2}
BURST_EVENTS=${BURST_EVENTS:-2000}
OUT=${OUT:-/tmp/pushgate-bench-webhooks}
PG=${PG:-bin/pushgate}
PG_FLAGS=${PG_FLAGS:-} # e.g. --webhook-early-ack
LOAD=${LOAD:-bin/pushload}
SINK=${SINK:-bin/hooksink}

rm -rf "$OUT" && mkdir -p "$OUT"
DATA=$(mktemp -d /tmp/pushgate-bench-webhooks.XXXXXX)
PORT=$(free_port)
SINK_PORT=$(free_port)
URL=http://127.0.0.1:$PORT
SINK_URL=http://127.0.0.1:$SINK_PORT
start_bg "$OUT/hooksink.log" "$SINK" --listen "127.0.0.1:$SINK_PORT"
start_bg "$OUT/pushgate.log" "$PG" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn ${PG_FLAGS:-}
PG_PID=$BG_PID
wait_healthy "$URL" 30
TOKEN=$(mint_token "$PG" "$DATA")
echo "$TOKEN" >"$OUT/token"
CFG=$URL/configuration/v2/configuration/platform/push-service

patch() { curl -fsS -o /dev/null -X PATCH "$CFG" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$1"; }
metric() { curl -fsS "$URL/metrics" | awk -v n="$1" '$1 == n && !done {print $2; done = 1}'; }
cpu_ticks() { awk '{print $14 + $15}' /proc/"$PG_PID"/stat; }
sink_total() { curl -fsS "$SINK_URL/stats" | jq .total; }

# hooks NAME N PATH_PREFIX: N webhooks on bench:NAME to the sink under PATH_PREFIX, as one JSON object body
hooks() {
	local name=$1 n=$2 prefix=$3 i sep="" out=""
	for ((i = 0; i < n; i++)); do
		out+="$sep\"$prefix$i\":{\"id\":\"$prefix$i\",\"name\":\"$prefix$i\",\"url\":\"$SINK_URL/$prefix/$i\",\"events\":[{\"namespace\":\"bench\",\"name\":\"$name\"}]}"
		sep=","
	done
	echo "$out"
}
set_hooks() { # JSON members of "webhooks" (empty = none)
	curl -fsS -o /dev/null -X PATCH "$CFG" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d '{"operation":"DELETE","property":"webhooks"}' || true
	[ -z "$1" ] || patch "{\"operation\":\"UPDATE\",\"update\":{\"webhooks\":{$1}}}"
}

# 1. Deliveries per second and per CPU-second: a burst of events x HOOKS webhooks, one subscriber.
set_hooks "$(hooks burst "$HOOKS" fast)"
base=$(sink_total)
c0=$(cpu_ticks)
t0=$(date +%s.%N)
"$LOAD" --url "$URL" --token-file "$OUT/token" --conns 1 --publish-rate "$BURST_EVENTS" --burst 20 --publish-conns 4 \
	--event-name burst --duration 1s --drain 0s --progress 0 >"$OUT/burst.out" 2>"$OUT/burst.err" || true
posted=$(grep '"summary":true' "$OUT/burst.out" | jq .published)
want=$((posted * HOOKS))
while [ $(($(sink_total) - base)) -lt "$want" ]; do
	sleep 0.1
	if [ "$(echo "$(date +%s.%N) - $t0 > 120" | bc)" = 1 ]; then echo "burst: only $(($(sink_total) - base)) of $want delivered" >&2; break; fi
done
t1=$(date +%s.%N)
c1=$(cpu_ticks)
got=$(($(sink_total) - base))
hz=$(getconf CLK_TCK)
{
	echo "## deliveries to a fast local receiver (hooksink, loopback)"
	echo "events posted: $posted, webhooks per event: $HOOKS, deliveries: $got of $want"
	echo "$got $t0 $t1 $c0 $c1 $hz" | awk '{w = $3 - $2; c = ($5 - $4) / $6; printf "wall %.2f s -> %.0f deliveries/s; pushgate CPU %.2f s -> %.0f deliveries per CPU-second\n", w, $1 / w, c, $1 / c}'
} | tee "$OUT/webhooks.txt"

# 2. Fan-out latency with and without webhook load, phases interleaved.
set_hooks ""
echo "## fan-out: $CONNS WebSocket subscribers, $RATE events/s, $DUR per phase" | tee -a "$OUT/webhooks.txt"
printf '%-8s %-6s %10s %10s %10s %12s %12s %10s %14s\n' phase round p50_ms p99_ms p999_ms deliveries webhook_ok cpu_s post_late_p99 | tee -a "$OUT/webhooks.txt"
for ((r = 1; r <= ROUNDS; r++)); do
	for phase in none load hang; do
		case $phase in
		none) set_hooks "" ;;
		load) set_hooks "$(hooks tick "$HOOKS" fast)" ;;
		hang) set_hooks "$(hooks tick "$HOOKS" fast),$(hooks tick "$HANG" hang)" ;;
		esac
		ok0=$(metric 'pushgate_webhook_attempts_total{outcome="success"}')
		c0=$(cpu_ticks)
		"$LOAD" --url "$URL" --token-file "$OUT/token" --setup-stream --conns "$CONNS" --rate 2000 \
			--publish-rate "$RATE" --duration "$DUR" --progress 0 --scenario "$phase-$r" >"$OUT/$phase-$r.out" 2>"$OUT/$phase-$r.err"
		c1=$(cpu_ticks)
		ok1=$(metric 'pushgate_webhook_attempts_total{outcome="success"}')
		grep '"summary":true' "$OUT/$phase-$r.out" | jq -r --arg p "$phase" --arg r "$r" --arg ok "$(echo "${ok1:-0} - ${ok0:-0}" | bc)" \
			--arg cpu "$(echo "scale=2; ($c1 - $c0) / $hz" | bc)" \
			'[$p, $r, .p50_ms, .p99_ms, .p999_ms, .deliveries, $ok, $cpu, (.publish_late_p99_ms // 0)] | @tsv' |
			awk -F'\t' '{printf "%-8s %-6s %10.2f %10.2f %10.2f %12d %12d %10s %14.2f\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' | tee -a "$OUT/webhooks.txt"
	done
done
echo "figures in $OUT/webhooks.txt"
