#!/usr/bin/env bash
# ext_proc request_headers round trips against the shipped gateway jar in dev mode (see bench/RESULTS.md).
# usage: bench/extproc.sh [seconds per level]    (default 10)
# WARMUP (default 20): seconds of load at 32 streams before the measured levels.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -DskipTests package
WORK=$(mktemp -d)
java -jar gateway/target/agentbox-gateway.jar dev --home "$WORK/home" --api-port 18080 --proxy-port 18081 \
  --grpc-port 19002 --dev-api-port 0 > "$WORK/gateway.log" 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf localhost:18080/readyz >/dev/null && break; sleep 0.1; done
ID=$(curl -sf -X POST localhost:18080/v1/sandboxes -H 'content-type: application/json' \
  -d '{"poolName":"demo","image":"agentbox/sandbox:dev","waitForRunning":true}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandbox"]["sandboxId"])')
java -jar bench/target/agentbox-bench.jar extproc --grpc-port 19002 --api-port 18080 --sandbox "$ID" --seconds "${1:-10}" \
  --gateway-pid "$GW" --warmup "${WARMUP:-20}"
