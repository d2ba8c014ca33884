#!/usr/bin/env bash
# Claim latency and throughput through the REST API (see bench/RESULTS.md).
# usage: bench/claims.sh [claims per concurrency level, half of them in each of its rows]    (default 2000)
# The gateway is first warmed with at least 3000 create+DELETE lifecycles (CLAIMS_WARMUP_CYCLES to change), then in
# rounds of 1000 until its JIT compiler uses under 10 % of its CPU (at most CLAIMS_WARMUP_MAX_CYCLES, default 30000).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests package
java -Xmx8g -jar bench/target/agentbox-bench.jar claims --claims "${1:-2000}" --warmup-cycles "${CLAIMS_WARMUP_CYCLES:-3000}" --warmup-max-cycles "${CLAIMS_WARMUP_MAX_CYCLES:-30000}" --gateway-jar gateway/target/agentbox-gateway.jar
