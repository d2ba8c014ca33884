#!/usr/bin/env bash
# Built-in proxy vs direct-to-pod vs nginx (plain reverse proxy to the same pod), wrk at 64
# keep-alive connections, all three in one run. Installs wrk and nginx from Debian if missing.
# usage: bench/proxy.sh [seconds per target]    (default 15)
# GATEWAY_JAVA_OPTS adds JVM options to the gateway (e.g. a JFR recording for a profile).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-15}"
WARMUP="${WARMUP:-10}"   # seconds of load before each measured run (the JVM compiles its hot paths)
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q wrk nginx-light
fi
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -DskipTests package
WORK=$(mktemp -d)
# The cluster (API server, simulated node, the pods' servers) in one process, the gateway in
# another, nginx in a third: as on a real cluster, the pods do not share the proxy's JVM.
java -jar bench/target/agentbox-bench.jar cluster --kubeconfig "$WORK/kubeconfig" > "$WORK/cluster.log" 2>&1 &
CL=$!
NGINX_PID=""
GW=""
# The gateway stops first, while its API server is still there (it hands back its Lease), so a
# rerun right after does not meet it still shutting down.
cleanup() {
  set +e
  if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null; fi
  if [ -n "$GW" ]; then kill "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; fi
  kill "$CL" 2>/dev/null; wait "$CL" 2>/dev/null
  return 0
}
trap cleanup EXIT
for _ in $(seq 1 600); do [ -f "$WORK/kubeconfig" ] && break; sleep 0.1; done
# shellcheck disable=SC2086
java ${GATEWAY_JAVA_OPTS:-} -jar gateway/target/agentbox-gateway.jar --kubeconfig "$WORK/kubeconfig" --host 127.0.0.1 --home "$WORK/home" \
  --api-port 18080 --proxy-port 18081 --grpc-port 19002 > "$WORK/gateway.log" 2>&1 &
GW=$!
for _ in $(seq 1 300); do curl -sf localhost:18080/readyz >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 300); do curl -s localhost:18080/v1/sandboxpools/bench | grep -q '"idle":3' && break; sleep 0.1; done
SANDBOX=$(curl -sf -X POST localhost:18080/v1/sandboxes -H 'content-type: application/json' \
  -d '{"poolName":"bench","image":"bench/sandbox:2","waitForRunning":true}')
ID=$(echo "$SANDBOX" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandbox"]["sandboxId"])')
IP=$(curl -s -H "Host: 8080-$ID.sandbox.localhost" localhost:18081/whoami | python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])')
cat > "$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream pod { server $IP:8080; keepalive 64; }
  server {
    listen 127.0.0.1:18090;
    location / {
      proxy_pass http://pod;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
NGINX
nginx -c "$WORK/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
sleep 1
# run NAME URL CONNECTIONS WARMUP_SECONDS [HOST]: one wrk measurement, printed as a table row
run() {
  local name=$1 url=$2 conns=$3 warm=$4 threads=2 hdr=()
  [ "$conns" -lt 2 ] && threads=1
  [ -n "${5:-}" ] && hdr=(-H "Host: $5")
  [ "$warm" -gt 0 ] && wrk -t"$threads" -c"$conns" -d"${warm}s" "${hdr[@]}" "$url" >/dev/null
  wrk -t"$threads" -c"$conns" -d"${SECS}s" --latency "${hdr[@]}" "$url" > "$WORK/wrk-$name-$conns.txt"
  python3 - "$name" "$WORK/wrk-$name-$conns.txt" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
t = open(path).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        sys.exit(f"cannot read a latency from wrk's output ({v!r}):\n{t}")
    x = float(m.group(1)); return x * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]
# percentiles from the "Latency Distribution" lines only (the thread stats also end in "...50%")
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1)); p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"| {name} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {errs.group(1) if errs else 0} |")
PY
}
HOSTNAME_FORM="8080-$ID.sandbox.localhost"
for conns in 64 1; do
  # 64 connections: throughput, each target warmed up first; 1 connection: the latency one request adds.
  warm=$WARMUP; [ "$conns" = 1 ] && warm=0
  echo
  echo "wrk, $conns connection(s), ${SECS}s:"
  echo "| target | requests/s | p50 ms | p99 ms | non-2xx |"
  echo "|---|---|---|---|---|"
  run "direct to pod" "http://$IP:8080/health" "$conns" "$warm"
  run "nginx → pod" "http://127.0.0.1:18090/health" "$conns" "$warm"
  run "built-in proxy → pod" "http://127.0.0.1:18081/health" "$conns" "$warm" "$HOSTNAME_FORM"
done
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(java -version 2>&1 | head -1); $(nginx -v 2>&1); $(date -u +%F)"
