#!/usr/bin/env bash
# Claim latency and throughput through the REST API (see bench/RESULTS.md).
# usage: bench/claims.sh [claims per concurrency level]    (default 400)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests package
java -Xmx8g -jar bench/target/agentbox-bench.jar claims --claims "${1:-400}" --gateway-jar gateway/target/agentbox-gateway.jar
