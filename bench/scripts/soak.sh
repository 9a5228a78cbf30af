#!/usr/bin/env bash
# make soak: a steady run of one pushgate process (scenario S8): CONNS subscribers of one stream,
# SLOW (1%) of them stop reading, the publisher at RATE events/s (~50% of one core), plus a
# churn loader that connects CHURN clients, holds them CHURN_HOLD and leaves, over and over.
# Samples every 10 s: RSS, Go heap, goroutines, open fds, connections, queued bytes, slow-consumer
# closes; at the end prints the drift (mean of the last third minus mean of the first third,
# after a 60 s warm-up) and the loader's latency summary.
#
# Environment: SOAK_DURATION (15m) CONNS (15000) SLOW (0.01) RATE (2) CHURN (1000)
#              CHURN_HOLD (20s) OUT (/tmp/pushgate-soak)
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/scripts/lib.sh

DUR=${SOAK_DURATION:-15m}
CONNS=${CONNS:-15000}
SLOW=${SLOW:-0.01}
RATE=${RATE:-2}
CHURN=${CHURN:-1000}
CHURN_HOLD=${CHURN_HOLD:-20s}
OUT=${OUT:-/tmp/pushgate-soak}
PG=${PG:-bin/pushgate}
LOAD=${LOAD:-bin/pushload}

rm -rf "$OUT" && mkdir -p "$OUT"
DATA=$(mktemp -d /tmp/pushgate-soak-data.XXXXXX)
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
start_bg "$OUT/pushgate.log" "$PG" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn
PG_PID=$BG_PID
wait_healthy "$URL" 30
TOKEN=$(mint_token "$PG" "$DATA")
echo "$TOKEN" >"$OUT/token"
echo "soak: $DUR, $CONNS subscribers ($SLOW slow), $RATE events/s, churn $CHURN clients every $CHURN_HOLD; pushgate pid $PG_PID"

start_bg "$OUT/main.err" sh -c "exec '$LOAD' --url '$URL' --token-file '$OUT/token' --setup-stream \
	--conns $CONNS --rate 2000 --sources 4 --slow-fraction $SLOW --publish-rate $RATE --payload-bytes 200 \
	--duration $DUR --progress 30s > '$OUT/main.out'"
MAIN_PID=$BG_PID

# churn: a second loader on other source addresses, in a loop until the main run ends
start_bg "$OUT/churn.err" sh -c "while :; do '$LOAD' --url '$URL' --token-file '$OUT/token' --conns $CHURN \
	--rate 500 --sources 127.0.0.20,127.0.0.21 --duration $CHURN_HOLD --progress 0 >> '$OUT/churn.out' || true; done"

echo "t_s,rss_kb,heap_kb,goroutines,fds,connections,queued_bytes,slow_closes" >"$OUT/soak.csv"
t0=$(date +%s)
while kill -0 "$MAIN_PID" 2>/dev/null; do
	sleep 10
	kill -0 "$MAIN_PID" 2>/dev/null || break # the main loader has finished: stop before its sockets close
	m=$(curl -fsS "$URL/metrics" 2>/dev/null || true)
	get() { echo "$m" | awk -v n="$1" '$1 == n {print $2; exit}'; }
	printf '%d,%d,%.0f,%s,%d,%s,%s,%s\n' $(($(date +%s) - t0)) "$(rss_kb "$PG_PID")" \
		"$(get go_memstats_heap_inuse_bytes | awk '{printf "%.0f", $1 / 1024}')" "$(get go_goroutines)" \
		"$(ls /proc/"$PG_PID"/fd 2>/dev/null | wc -l)" "$(get pushgate_connections)" "$(get pushgate_queued_bytes)" \
		"$(get pushgate_slow_consumer_closes_total)" >>"$OUT/soak.csv"
	tail -1 "$OUT/soak.csv"
done
wait "$MAIN_PID" || true

echo
grep '"summary":true' "$OUT/main.out" | jq -r '"main loader: \(.conns) ready, \(.deliveries) deliveries, lost \(.lost), dropped \(.dropped), slow \(.slow) (closed by server \(.slow_closed)), p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, p999 \(.p999_ms) ms"' || true
echo "churn runs: $(grep -c '"summary":true' "$OUT/churn.out" 2>/dev/null || echo 0)"
# drift: mean of the last third vs the first third (after 60 s warm-up)
awk -F, 'NR > 1 && $1 >= 60 { n++; t[n] = $1; for (i = 2; i <= 5; i++) v[n, i] = $i }
END {
	if (n < 6) { print "soak: too few samples for drift"; exit }
	k = int(n / 3); split("rss_kb heap_kb goroutines fds", name, " ")
	for (i = 2; i <= 5; i++) {
		a = 0; b = 0
		for (j = 1; j <= k; j++) { a += v[j, i]; b += v[n - k + j, i] }
		a /= k; b /= k
		printf "drift %-10s first third %10.0f  last third %10.0f  change %+.1f%%\n", name[i - 1], a, b, (a ? 100 * (b - a) / a : 0)
	}
}' "$OUT/soak.csv" | tee "$OUT/drift.txt"
