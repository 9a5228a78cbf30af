#!/usr/bin/env bash
# Tracing overhead (make bench-tracing): CPU per delivery of one pushgate process with tracing off,
# on (every event sampled, exported over OTLP/HTTP) and sampled at 1 %, side by side in one run:
# three servers, one per setting, phases interleaved over ROUNDS rounds; CONNS Socket.IO WebSocket
# subscribers (pushload), RATE events/s. The OTLP collector is hooksink (it answers 204).
# Figures go to $OUT/tracing.txt (BENCHMARKS.md §2e).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/scripts/lib.sh

CONNS=${CONNS:-5000}
RATE=${RATE:-10}
DUR=${DUR:-15s}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-/tmp/pushgate-bench-tracing}
PG=${PG:-bin/pushgate}
LOAD=${LOAD:-bin/pushload}
SINK=${SINK:-bin/hooksink}

rm -rf "$OUT" && mkdir -p "$OUT"
SINK_PORT=$(free_port)
start_bg "$OUT/collector.log" "$SINK" --listen "127.0.0.1:$SINK_PORT"
declare -A URLS PIDS TOKENS
for mode in off on 1pct; do
	data=$(mktemp -d /tmp/pushgate-bench-tracing.XXXXXX)
	port=$(free_port)
	case $mode in
	off) env=(env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_TRACES_EXPORTER) ;;
	on) env=(env OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT" OTEL_SERVICE_NAME=pushgate-bench) ;;
	1pct) env=(env OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT" OTEL_SERVICE_NAME=pushgate-bench
		OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.01) ;;
	esac
	start_bg "$OUT/pushgate-$mode.log" "${env[@]}" "$PG" serve --listen "127.0.0.1:$port" --data-dir "$data" --log-level warn
	PIDS[$mode]=$BG_PID
	URLS[$mode]=http://127.0.0.1:$port
	wait_healthy "${URLS[$mode]}" 30
	TOKENS[$mode]=$(mint_token "$PG" "$data")
	echo "${TOKENS[$mode]}" >"$OUT/token-$mode"
done
# The server process is the child of setsid's exec: the recorded pid is pushgate itself.
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
hz=$(getconf CLK_TCK)

echo "## tracing overhead: $CONNS WebSocket subscribers, $RATE events/s, $DUR per phase, $ROUNDS rounds" | tee "$OUT/tracing.txt"
printf '%-6s %-6s %12s %10s %12s %10s %10s\n' mode round deliveries cpu_s us_per_del p50_ms p99_ms | tee -a "$OUT/tracing.txt"
for ((r = 1; r <= ROUNDS; r++)); do
	for mode in off on 1pct; do
		c0=$(cpu_ticks "${PIDS[$mode]}")
		"$LOAD" --url "${URLS[$mode]}" --token-file "$OUT/token-$mode" --setup-stream --conns "$CONNS" --rate 2500 \
			--publish-rate "$RATE" --duration "$DUR" --progress 0 --scenario "$mode-$r" >"$OUT/$mode-$r.out" 2>"$OUT/$mode-$r.err"
		c1=$(cpu_ticks "${PIDS[$mode]}")
		grep '"summary":true' "$OUT/$mode-$r.out" | jq -r --arg m "$mode" --arg r "$r" \
			--arg cpu "$(echo "scale=3; ($c1 - $c0) / $hz" | bc)" \
			'[$m, $r, .deliveries, $cpu, .p50_ms, .p99_ms] | @tsv' |
			awk -F'\t' '{printf "%-6s %-6s %12d %10.2f %12.2f %10.2f %10.2f\n", $1, $2, $3, $4, ($3 > 0 ? $4 * 1e6 / $3 : 0), $5, $6}' | tee -a "$OUT/tracing.txt"
	done
done
echo "spans exported to the collector: $(curl -fsS "http://127.0.0.1:$SINK_PORT/stats" | jq -c .)" | tee -a "$OUT/tracing.txt"
echo "figures in $OUT/tracing.txt"
