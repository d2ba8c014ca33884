#!/usr/bin/env bash
# Built-in proxy vs direct-to-pod vs nginx (plain reverse proxy to the same pod) vs a Netty TCP
# splice (the floor for a JVM proxy), wrk at 64 keep-alive connections, all in one run. Installs
# wrk and nginx from Debian if missing.
# usage: bench/proxy.sh [seconds per target]    (default 15)
# ROUNDS (default 3): measured rounds at 64 connections, each direct, nginx, splice, proxy in turn,
# so that what else the machine does lands on all alike; the summary is the median round.
# GATEWAY_JAVA_OPTS adds JVM options to the gateway (e.g. a JFR recording for a profile);
# GATEWAY_JAVA is the java command the gateway runs on (default: java on the PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-15}"
WARMUP="${WARMUP:-20}"   # seconds of load on each target before the first round (the JVM compiles its hot paths)
ROUNDS="${ROUNDS:-3}"
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
SPLICE=""
GW=""
# The gateway stops first, while its API server is still there (it hands back its Lease), so a
# rerun right after does not meet it still shutting down.
cleanup() {
  set +e
  if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null; fi
  if [ -n "$SPLICE" ]; then kill "$SPLICE" 2>/dev/null; fi
  if [ -n "$GW" ]; then kill "$GW" 2>/dev/null; wait "$GW" 2>/dev/null; fi
  kill "$CL" 2>/dev/null; wait "$CL" 2>/dev/null
  return 0
}
trap cleanup EXIT
for _ in $(seq 1 600); do [ -f "$WORK/kubeconfig" ] && break; sleep 0.1; done
# shellcheck disable=SC2086
"${GATEWAY_JAVA:-java}" ${GATEWAY_JAVA_OPTS:-} -jar gateway/target/agentbox-gateway.jar --kubeconfig "$WORK/kubeconfig" --host 127.0.0.1 --home "$WORK/home" \
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
# The floor for a proxy on the JVM: a Netty TCP splice to the same pod, no HTTP work at all
# (bench/src/.../SpliceProcess.java), on the gateway's JVM and as many event loops.
"${GATEWAY_JAVA:-java}" -jar bench/target/agentbox-bench.jar splice --port 18095 --target "$IP:8080" > "$WORK/splice.log" 2>&1 &
SPLICE=$!
sleep 1
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:18095/health" && break; sleep 0.1; done
# cpu_ticks PID...: CPU time (user + system, all threads) the processes have used, in clock ticks
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
# run ROUND NAME URL CONNECTIONS WARMUP_SECONDS HOP_PIDS [HOST]: one wrk measurement, printed as a
# table row (and kept in $WORK/rows for the summary); HOP_PIDS are the processes of the hop between wrk and the pod (none for direct), whose CPU
# time per request is a figure the machine's other load moves less than requests/s.
run() {
  local round=$1 name=$2 url=$3 conns=$4 warm=$5 hop=$6 threads=2 hdr=() before after
  [ "$conns" -lt 2 ] && threads=1
  [ -n "${7:-}" ] && hdr=(-H "Host: $7")
  [ "$warm" -gt 0 ] && wrk -t"$threads" -c"$conns" -d"${warm}s" "${hdr[@]}" "$url" >/dev/null
  # shellcheck disable=SC2086
  before=$(cpu_ticks $hop)
  wrk -t"$threads" -c"$conns" -d"${SECS}s" --latency "${hdr[@]}" "$url" > "$WORK/wrk-$name-$conns.txt"
  # shellcheck disable=SC2086
  after=$(cpu_ticks $hop)
  python3 - "$round" "$name" "$WORK/wrk-$name-$conns.txt" "$((after - before))" "$(getconf CLK_TCK)" "$hop" "$WORK/rows" "$conns" <<'PY'
import re, sys
rnd, name, path, ticks, hz, hop, rows, conns = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
t = open(path).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        sys.exit(f"cannot read a latency from wrk's output ({v!r}):\n{t}")
    x = float(m.group(1)); return x * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]
# percentiles from the "Latency Distribution" lines only (the thread stats also end in "...50%")
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1)); p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
total = int(re.search(r"(\d+) requests in", t).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
us = ticks / hz / total * 1e6 if hop.strip() else 0.0
cpu = f"{us:.1f}" if hop.strip() else "–"
print(f"| {rnd} | {name} | {rps:,.0f} | {p50:.3f} | {p99:.3f} | {cpu} | {errs.group(1) if errs else 0} |")
with open(rows, "a") as f:
    f.write(f"{conns}\t{rnd}\t{name}\t{rps}\t{p50}\t{p99}\t{us}\n")
PY
}
HOSTNAME_FORM="8080-$ID.sandbox.localhost"
NGINX_PIDS="$NGINX_PID $(pgrep -P "$NGINX_PID" | xargs)"
# targets ROUND CONNECTIONS WARMUP_SECONDS: direct, nginx and the proxy, one after another
targets() {
  run "$1" "direct to pod" "http://$IP:8080/health" "$2" "$3" ""
  run "$1" "nginx → pod" "http://127.0.0.1:18090/health" "$2" "$3" "$NGINX_PIDS"
  run "$1" "Netty splice → pod (floor)" "http://127.0.0.1:18095/health" "$2" "$3" "$SPLICE"
  run "$1" "built-in proxy → pod" "http://127.0.0.1:18081/health" "$2" "$3" "$GW" "$HOSTNAME_FORM"
}
HEADER="| round | target | requests/s | p50 ms | p99 ms | hop CPU µs/request | non-2xx |
|---|---|---|---|---|---|---|"
echo
echo "wrk, 64 connections, ${SECS}s each, $ROUNDS rounds (after ${WARMUP}s of warm-up load on each target):"
echo "$HEADER"
for r in $(seq 1 "$ROUNDS"); do
  warm=0; [ "$r" = 1 ] && warm=$WARMUP
  targets "$r" 64 "$warm"
done
# One connection: the latency a single request adds.
echo
echo "wrk, 1 connection, ${SECS}s:"
echo "$HEADER"
targets 1 1 0
echo
python3 - "$WORK/rows" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
def get(conns, name):
    return {r[1]: (float(r[3]), float(r[6])) for r in rows if r[0] == conns and r[2] == name}
nginx, proxy, splice = get("64", "nginx → pod"), get("64", "built-in proxy → pod"), get("64", "Netty splice → pod (floor)")
def ratios(a, b, i):
    return [a[k][i] / b[k][i] for k in sorted(b) if b[k][i] > 0]
def summary(name, a, b):
    rate, cpu = ratios(a, b, 0), ratios(a, b, 1)
    return (f"{name} requests/s = {100 * statistics.median(rate):.0f} % of nginx's (rounds: {', '.join(f'{100 * x:.0f} %' for x in rate)}); "
            f"CPU per request = {100 * statistics.median(cpu):.0f} % of nginx's")
print(f"64 connections, median of {len(nginx)} rounds: {summary('built-in proxy', proxy, nginx)}")
print(f"  the floor, same rounds: {summary('Netty splice', splice, nginx)}; "
      f"the built-in proxy's CPU per request = {100 * statistics.median(ratios(proxy, splice, 1)):.0f} % of the splice's")
one = {r[2]: (float(r[4]), float(r[5])) for r in rows if r[0] == "1"}
dd, nn, ss, pp = one["direct to pod"], one["nginx → pod"], one["Netty splice → pod (floor)"], one["built-in proxy → pod"]
print(f"1 connection, added over direct (p50 / p99 ms): nginx {nn[0] - dd[0]:+.3f} / {nn[1] - dd[1]:+.3f}, "
      f"Netty splice {ss[0] - dd[0]:+.3f} / {ss[1] - dd[1]:+.3f}, built-in proxy {pp[0] - dd[0]:+.3f} / {pp[1] - dd[1]:+.3f}")
PY
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(java -version 2>&1 | head -1), gateway on $("${GATEWAY_JAVA:-java}" -version 2>&1 | head -1); $(nginx -v 2>&1); $(date -u +%F)"
