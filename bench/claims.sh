#!/usr/bin/env bash
# Claim latency and throughput through the REST API (see bench/RESULTS.md).
# usage: bench/claims.sh [claims per row at concurrency 1 and 16; rows at 64 have four times as many]    (default 1000)
# The gateway is first warmed with at least 3000 create+DELETE lifecycles (CLAIMS_WARMUP_CYCLES to change), then in
# rounds of 1000 until its JIT compiler uses under 10 % of its CPU (at most CLAIMS_WARMUP_MAX_CYCLES, default 30000).
set -euo pipefail
cd "$(dirname "$0")/.."
# CLAIMS_ONLY=write-alone: the quick form, to compare the gateway's CPU per claim between two
# versions: the lean peer, the warm-up, then only the claim write alone at 16 and 64,
# CLAIMS_REPEAT times (default 4). SKIP_BUILD=1 runs the jars as they are.
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -DskipTests package
# This JVM hosts the dev cluster's API server: with G1 its young-collection pauses (80-110 ms every
# few seconds with 12,200 pods) stalled every claim in flight, which a real API server does not do;
# ZGC is built to keep its pauses under a millisecond. The gateway runs on Shenandoah, as README's
# "Running the gateway" recommends (G1's young pauses in the gateway were 38-85 ms under this load;
# GATEWAY_JAVA_OPTS replaces the choice, e.g. GATEWAY_JAVA_OPTS=-XX:+UseG1GC).
export GATEWAY_JAVA_OPTS="${GATEWAY_JAVA_OPTS:--XX:+UseShenandoahGC}"
# BENCH_JAVA_OPTS replaces the bench JVM's own options.
# BENCH_CPUS and GATEWAY_CPUS (taskset -c lists, e.g. BENCH_CPUS=1 GATEWAY_CPUS=0) give the bench's
# JVM (API server, simulated node, clients) and the gateway (and the peer's client, in its place)
# CPUs of their own instead of sharing all of them.
PIN=()
[ -n "${BENCH_CPUS:-}" ] && PIN=(taskset -c "$BENCH_CPUS")
# shellcheck disable=SC2086
"${PIN[@]}" java ${BENCH_JAVA_OPTS:--XX:+UseZGC -Xmx8g} -jar bench/target/agentbox-bench.jar claims --claims "${1:-1000}" --warmup-cycles "${CLAIMS_WARMUP_CYCLES:-3000}" --warmup-max-cycles "${CLAIMS_WARMUP_MAX_CYCLES:-30000}" --gateway-jar gateway/target/agentbox-gateway.jar ${CLAIMS_ONLY:+--only "$CLAIMS_ONLY" --repeat "${CLAIMS_REPEAT:-4}"}
