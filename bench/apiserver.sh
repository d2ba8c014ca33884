#!/usr/bin/env bash
# What a compare-and-swap pod write costs the dev cluster's embedded API server (see bench/RESULTS.md).
# usage: bench/apiserver.sh [writes per round]    (default 20000; 2000 pods, concurrency 16, 3 rounds after three of warm-up)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -DskipTests package
java -XX:+UseZGC -Xmx4g -jar bench/target/agentbox-bench.jar apiserver --writes "${1:-20000}"
