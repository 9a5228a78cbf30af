# Shared helpers for bench/scripts/*.sh (sourced, not run).
# Every process a script starts is recorded in STARTED_PIDS (as a process group started with
# setsid) and killed by id in cleanup, which runs on EXIT, INT and TERM.

STARTED_PIDS=()

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for pid in "${STARTED_PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	sleep 2
	for pid in "${STARTED_PIDS[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	done
	exit "$rc"
}
trap cleanup EXIT INT TERM

# start_bg LOGFILE CMD... : runs CMD in its own session (process group = its pid); sets BG_PID.
start_bg() {
	local log=$1
	shift
	setsid "$@" >"$log" 2>&1 &
	BG_PID=$!
	STARTED_PIDS+=("$BG_PID")
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 10000))
}

wait_healthy() { # URL TIMEOUT_S
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		curl -fsS -o /dev/null "$1/health" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "not healthy: $1" >&2
	return 1
}

# tree_pids PID: PID and all its descendants
tree_pids() {
	local p=$1 c
	echo "$p"
	for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
		tree_pids "$c"
	done
}

# rss_kb PIDS...: summed RSS (KB) from smaps_rollup
rss_kb() {
	local sum=0 p v
	for p in "$@"; do
		v=$(awk '/^Rss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

slab_kb() { awk '/^Slab:/ {print $2}' /proc/meminfo; }

metric() { # URL NAME: first sample of a Prometheus series
	curl -fsS "$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n {print $2; exit}'
}

mint_token() { # BIN DATA_DIR
	"$1" token --data-dir "$2" --tenant demo --ttl 24h \
		--roles stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin
}
