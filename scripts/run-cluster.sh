#!/usr/bin/env bash
# The many-instances kit on one machine (README "Many instances", docs/DEPLOY.md "Many instances
# behind a load balancer"): the development broker (cmd/kafkadev, kfake), 3 pushgate instances in
# Kafka mode with --cluster-listen, and Debian's nginx in plain round-robin in front (no affinity).
#
#   scripts/run-cluster.sh up          start everything, print the URLs and a token; returns
#   scripts/run-cluster.sh down        stop everything it started (make cluster-down)
#   scripts/run-cluster.sh status      what runs, from the pid files
#   scripts/run-cluster.sh start N     (re)start instance N (1-3) on its data dir; waits until ready
#   scripts/run-cluster.sh kill-test   up (when not up), then interop/cluster-kill.mjs: 50 socket.io
#                                      + 20 SSE clients, kill -9 each instance in turn (make cluster-kill-test)
#
# Everything lives in $DIR (default ./data-cluster): logs, pid files, data dirs, the nginx config.
# Ports: nginx $LB (127.0.0.1:8180), instances 127.0.0.1:8181-8183 (internal 8191-8193), broker
# 127.0.0.1:9192. Development only: the broker is kfake, the secret is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${DIR:-$ROOT/data-cluster}
LB=${LB:-127.0.0.1:8180}
BROKER=${BROKER:-127.0.0.1:9192}
N=3
HTTP=(127.0.0.1:8181 127.0.0.1:8182 127.0.0.1:8183)
INTERNAL=(127.0.0.1:8191 127.0.0.1:8192 127.0.0.1:8193)
export PUSHGATE_CLUSTER_SECRET=${PUSHGATE_CLUSTER_SECRET:-development-only-cluster-secret}
ROLES=stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_http() { # url seconds
  for _ in $(seq $(($2 * 10))); do curl -fs -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "run-cluster: $1 did not answer within $2 s (logs in $DIR)" >&2
  return 1
}

start_instance() { # 1-based index
  local i=$1 k=$(($1 - 1))
  mkdir -p "$DIR/i$i"
  # setsid: the instance outlives this script and is not hit by the terminal's Ctrl-C.
  setsid bin/pushgate serve --listen "${HTTP[$k]}" --data-dir "$DIR/i$i" --public-url "http://$LB" \
    --dev-signing-key "$DIR/dev-signing-key.pem" --kafka-brokers "$BROKER" \
    --cluster-listen "${INTERNAL[$k]}" --instance-id "i$i" --cluster-heartbeat 2s --drain-timeout 2s \
    >>"$DIR/i$i.log" 2>&1 </dev/null &
  echo $! >"$DIR/i$i.pid"
  disown
  wait_http "http://${HTTP[$k]}/readyz" 60
}

up() {
  if alive "$DIR/nginx.pid"; then echo "run-cluster: already up ($DIR); scripts/run-cluster.sh down stops it" >&2; urls; return; fi
  command -v nginx >/dev/null || { echo "run-cluster: nginx missing: make nginx-deps" >&2; exit 1; }
  go build -o bin/pushgate ./cmd/pushgate
  go build -o bin/kafkadev ./cmd/kafkadev
  mkdir -p "$DIR/nginx"
  setsid bin/kafkadev --listen "$BROKER" >"$DIR/kafkadev.log" 2>&1 </dev/null &
  echo $! >"$DIR/kafkadev.pid"
  disown
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/${BROKER%:*}/${BROKER#*:}") 2>/dev/null && break; sleep 0.1; done
  for i in $(seq $N); do start_instance "$i"; done
  # nginx: scripts/nginx-cluster.conf with its placeholders filled in.
  local ups="" user=""
  for h in "${HTTP[@]}"; do ups+="        server $h max_fails=1 fail_timeout=2s;"$'\n'; done
  [ "$(id -u)" = 0 ] && user="user root;"
  local conf
  conf=$(<scripts/nginx-cluster.conf)
  conf=${conf//@DIR@/$DIR/nginx}
  conf=${conf//@LISTEN@/$LB}
  conf=${conf//@UPSTREAMS@/${ups%$'\n'}}
  conf=${conf//@USER@/$user}
  if grep -v '^\s*#' <<<"$conf" | grep -q '@[A-Z]*@'; then echo "run-cluster: unfilled placeholder in the nginx configuration" >&2; exit 1; fi
  printf '%s\n' "$conf" >"$DIR/nginx/nginx.conf"
  setsid nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" >"$DIR/nginx.log" 2>&1 </dev/null &
  echo $! >"$DIR/nginx.pid"
  disown
  wait_http "http://$LB/readyz" 20
  bin/pushgate token --data-dir "$DIR/i1" --tenant demo --roles "$ROLES" --ttl 24h >"$DIR/token"
  # The demo stream "cl" (events cl:e), on the config topic: every instance sees it.
  local ok=""
  for _ in $(seq 100); do
    if curl -fs -o /dev/null -X PATCH "http://$LB/configuration/v2/configuration/platform/push-service" \
      -H "Authorization: Bearer $(cat "$DIR/token")" -H 'Content-Type: application/json' \
      -d '{"operation":"UPDATE","update":{"cl":{"id":"cl","name":"Cluster","subscriberRoles":[],"events":[{"namespace":"cl","name":"e"}]}}}'; then ok=1; break; fi
    sleep 0.2
  done
  [ -n "$ok" ] || { echo "run-cluster: configuring the stream failed" >&2; exit 1; }
  urls
}

urls() {
  cat <<MSG
pushgate cluster up (development only):
  balancer (nginx, round-robin)  http://$LB
  instances                      http://${HTTP[0]} http://${HTTP[1]} http://${HTTP[2]}  (internal ${INTERNAL[*]})
  broker (kafkadev, kfake)       $BROKER
  token (tenant demo, 24 h)      \$(cat $DIR/token)
  logs                           $DIR/*.log
Try:
  curl -N -H "Authorization: Bearer \$(cat $DIR/token)" http://$LB/stream/v1/streams/cl &
  curl -s -X POST http://$LB/event/v1/events -H "Authorization: Bearer \$(cat $DIR/token)" \\
    -H 'Content-Type: application/json' -d '{"namespace":"cl","name":"e","timestamp":"2026-01-01T00:00:00Z","payload":{"n":1}}'
Stop everything: make cluster-down   (or scripts/run-cluster.sh down)
MSG
}

down() {
  local f
  for f in "$DIR"/nginx.pid "$DIR"/i*.pid "$DIR"/kafkadev.pid; do
    [ -f "$f" ] || continue
    if alive "$f"; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  for f in "$DIR"/nginx.pid "$DIR"/i*.pid "$DIR"/kafkadev.pid; do
    [ -f "$f" ] || continue
    for _ in $(seq 100); do alive "$f" || break; sleep 0.1; done
    if alive "$f"; then kill -9 "$(cat "$f")" 2>/dev/null || true; fi
    rm -f "$f"
  done
  echo "pushgate cluster stopped (data and logs kept in $DIR; rm -rf it for a fresh start)"
}

status() {
  local f
  for f in "$DIR"/kafkadev.pid "$DIR"/i*.pid "$DIR"/nginx.pid; do
    [ -f "$f" ] || continue
    if alive "$f"; then echo "$(basename "$f" .pid) running (pid $(cat "$f"))"; else echo "$(basename "$f" .pid) stopped"; fi
  done
}

kill_test() {
  alive "$DIR/nginx.pid" || up
  cd interop
  PUSHGATE_URL="http://$LB" PUSHGATE_TOKEN="$(cat "$DIR/token")" CLUSTER_DIR="$DIR" \
    CLUSTER_HTTP="${HTTP[*]}" CLUSTER_SCRIPT="$ROOT/scripts/run-cluster.sh" node cluster-kill.mjs
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
start)
  f="$DIR/i${2:?instance 1-$N}.pid"
  if alive "$f"; then echo "instance $2 is running" >&2; exit 1; fi
  start_instance "$2"
  ;;
kill-test) kill_test ;;
*) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
