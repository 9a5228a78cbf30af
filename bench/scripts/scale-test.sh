#!/usr/bin/env bash
# make scale-test: >= 200,000 concurrent Socket.IO-over-WebSocket connections on this 2-vCPU box.
#
# One process may hold only ~19,9xx sockets (RLIMIT_NOFILE 20,000, cannot be raised), so:
#   server: pushgate serve --workers $WORKERS (N worker processes sharing the port with
#           SO_REUSEPORT, one parent owning the store/bus), ~CONNS/WORKERS connections each;
#   loader: pushload --procs $PROCS over $SOURCES loopback source addresses 127.0.0.2.. (the port
#           range here is 32768-60999, ~28k ports per (source, destination) pair, so 200k
#           connections to one ip:port need >= 8 sources; 24 are used, ip_local_port_range is
#           NOT raised).
# Reports: connections reached, server RSS (parent + workers) per connection, kernel slab per
# connection pair, and the delivery latency of events fanned out to all of them.
#
# Environment: CONNS (200000) WORKERS (12) PROCS (12) SOURCES (24) RATE (4000 conn/s)
#              PUBLISH_RATE (0.2 events/s: one event = CONNS deliveries) HOLD (30s) OUT (/tmp/pushgate-scale)
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/scripts/lib.sh

CONNS=${CONNS:-200000}
WORKERS=${WORKERS:-12}
PROCS=${PROCS:-12}
SOURCES=${SOURCES:-24}
RATE=${RATE:-4000}
PUBLISH_RATE=${PUBLISH_RATE:-0.2}
HOLD=${HOLD:-30s}
OUT=${OUT:-/tmp/pushgate-scale}
PG=${PG:-bin/pushgate}
LOAD=${LOAD:-bin/pushload}

serve_help=$("$PG" serve -h 2>&1 || true)
if ! grep -q -- '-workers' <<<"$serve_help"; then
	echo "scale-test: '$PG serve' has no --workers flag yet; this script is written against" >&2
	echo "  pushgate serve --workers N --listen ADDR (N processes sharing ADDR with SO_REUSEPORT)." >&2
	exit 2
fi
per_worker=$(((CONNS + WORKERS - 1) / WORKERS))
per_proc=$(((CONNS + PROCS - 1) / PROCS))
if ((per_worker > 19000 || per_proc > 19000)); then
	echo "scale-test: $per_worker connections per worker / $per_proc per loader process exceed the 20,000 fd limit; raise WORKERS/PROCS" >&2
	exit 2
fi

rm -rf "$OUT" && mkdir -p "$OUT"
DATA=$(mktemp -d /tmp/pushgate-scale-data.XXXXXX)
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
echo "scale-test: $CONNS connections, $WORKERS workers, $PROCS loader processes, $SOURCES sources, port $PORT; ulimit -n $(ulimit -n); port range $(cat /proc/sys/net/ipv4/ip_local_port_range)"

start_bg "$OUT/pushgate.log" "$PG" serve --workers "$WORKERS" --listen "127.0.0.1:$PORT" --data-dir "$DATA" --log-level warn
PG_PID=$BG_PID
wait_healthy "$URL" 30
sleep 2 # workers up
TOKEN=$(mint_token "$PG" "$DATA")
echo "$TOKEN" >"$OUT/token"

base_pids=$(tree_pids "$PG_PID")
rss0=$(rss_kb $base_pids)
slab0=$(slab_kb)
echo "server processes: $(echo $base_pids | wc -w), RSS before connections: $((rss0 / 1024)) MB"

# The loader: ramp, hold (publishing PUBLISH_RATE), report. --duration is the hold after the ramp.
start_bg "$OUT/pushload.err" sh -c "exec '$LOAD' --url '$URL' --token-file '$OUT/token' --setup-stream \
	--conns $CONNS --rate $RATE --inflight 1000 --procs $PROCS --sources $SOURCES \
	--publish-rate $PUBLISH_RATE --payload-bytes 100 --duration $HOLD --drain 15s --progress 5s \
	--handshake-timeout 60s --json-out '$OUT/pushload.jsonl' > '$OUT/pushload.out'"
LOAD_PID=$BG_PID

# Sample server memory while the loader runs; keep the sample with the most connections.
best_conns=0 best_rss=0 best_slab=0
while kill -0 "$LOAD_PID" 2>/dev/null; do
	sleep 5
	pids=$(tree_pids "$PG_PID")
	conns=$(ss -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l)
	rss=$(rss_kb $pids)
	slab=$(slab_kb)
	printf '%s conns %d server RSS %d MB slab +%d MB (%d processes)\n' "$(date +%T)" "$conns" $((rss / 1024)) $(((slab - slab0) / 1024)) "$(echo $pids | wc -w)" | tee -a "$OUT/samples.txt"
	if ((conns >= best_conns)); then best_conns=$conns best_rss=$rss best_slab=$slab; fi
done
wait "$LOAD_PID" || true

echo
tail -4 "$OUT/pushload.err" || true
summary=$(grep '"summary":true' "$OUT/pushload.out" | tail -1)
if [ -z "$summary" ]; then
	echo "scale-test: no summary from pushload (see $OUT/pushload.err)" >&2
	exit 1
fi
echo "$summary" | jq -r --argjson rss "$best_rss" --argjson rss0 "$rss0" --argjson slab "$((best_slab - slab0))" --argjson peak "$best_conns" \
	'"connections ready: \(.conns) (peak established on the server port: \($peak)); failed \(.failed), dropped \(.dropped)",
	 "server RSS at peak: \($rss/1024|floor) MB (parent + workers) = \((($rss - $rss0) / $peak * 100 | floor) / 100) KB per connection above the empty servers",
	 "kernel slab growth: \($slab/1024|floor) MB = \((($slab / $peak) * 100 | floor) / 100) KB per connection pair (both ends, machine-wide)",
	 "published \(.published) events -> \(.deliveries) deliveries (lost \(.lost)); latency p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, p999 \(.p999_ms) ms, max \(.max_ms) ms",
	 "connect p50 \(.connect_p50_ms) ms, p99 \(.connect_p99_ms) ms"' | tee "$OUT/summary.txt"
ok=$(echo "$summary" | jq ".conns >= $CONNS * 0.99")
[ "$ok" = true ] && echo "scale-test: PASS (>= 99% of $CONNS connections held)" || { echo "scale-test: FAIL" >&2; exit 1; }
