#!/usr/bin/env bash
# Claim latency and throughput through the REST API (see bench/RESULTS.md).
# usage: bench/claims.sh [claims per concurrency level]    (default 400)
# The gateway is first warmed with 3000 create+DELETE lifecycles (CLAIMS_WARMUP_CYCLES to change).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests package
java -Xmx8g -jar bench/target/agentbox-bench.jar claims --claims "${1:-400}" --warmup-cycles "${CLAIMS_WARMUP_CYCLES:-3000}" --gateway-jar gateway/target/agentbox-gateway.jar
