#!/usr/bin/env bash
# make run-kafka: a local Kafka-protocol broker (kfake, development only) and two pushgate
# instances on it, to see multi-instance delivery in one command. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/pushgate ./cmd/pushgate
go build -o bin/kafkadev ./cmd/kafkadev
BROKER=${BROKER:-127.0.0.1:9092}
A=${A:-127.0.0.1:8081}
B=${B:-127.0.0.1:8082}
DIR=${DIR:-./data-kafka}
mkdir -p "$DIR"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
bin/kafkadev --listen "$BROKER" --data-dir "$DIR/broker" > "$DIR/kafkadev.log" 2>&1 & pids+=($!)
sleep 1
bin/pushgate serve --listen "$A" --data-dir "$DIR/a" --kafka-brokers "$BROKER" 2> "$DIR/a.log" & pids+=($!)
sleep 1
# B trusts A's development token issuer, so one token works on both instances.
bin/pushgate serve --listen "$B" --data-dir "$DIR/b" --kafka-brokers "$BROKER" --oidc-base "http://$A/auth" --allowed-origins "http://$A" 2> "$DIR/b.log" & pids+=($!)
for url in "http://$A/readyz" "http://$B/readyz"; do
  for _ in $(seq 100); do curl -fs "$url" >/dev/null 2>&1 && break; sleep 0.1; done
done
cat <<MSG
Kafka broker (kfake, development only) on $BROKER; pushgate A on http://$A and B on http://$B.
Logs in $DIR/*.log. Try:

  TOKEN=\$(bin/pushgate token --data-dir $DIR/a --tenant demo --roles stream-listener,urn:ads:platform:event-service:event-sender,urn:ads:platform:configuration-service:configuration-admin)
  curl -s -X PATCH http://$A/configuration/v2/configuration/platform/push-service -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"operation":"UPDATE","update":{"orders":{"id":"orders","name":"Orders","publicSubscribe":false,"subscriberRoles":[],"events":[{"namespace":"shop","name":"order-placed"}]}}}'
  curl -N -H "Authorization: Bearer \$TOKEN" http://$B/stream/v1/streams/orders &    # listens on B
  curl -s -X POST http://$A/event/v1/events -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
    -d '{"namespace":"shop","name":"order-placed","timestamp":"2026-01-01T00:00:00Z","payload":{"id":1}}'
  # or produce straight to the topic:
  bin/kafkadev produce --brokers $BROKER --tenant <tenant URN from GET /tenant/v2/tenants> --namespace shop --name order-placed --payload '{"id":2}'

Ctrl-C stops the broker and both instances.
MSG
wait
