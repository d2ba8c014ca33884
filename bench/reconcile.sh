#!/usr/bin/env bash
# Reconcile at scale: the shipped gateway jar against the dev cluster (see bench/RESULTS.md).
# usage: bench/reconcile.sh [pools] [pods per pool] [steady seconds]    (defaults 100 100 60)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests package
java -Xmx8g -jar bench/target/agentbox-bench.jar reconcile \
  --pools "${1:-100}" --pods "${2:-100}" --steady-seconds "${3:-60}" \
  --gateway-jar gateway/target/agentbox-gateway.jar
