#!/usr/bin/env bash
# last-active writes when a sandbox's traffic comes through one gateway replica, and when it comes
# through two, in one run: the dev cluster in one process, two gateway processes on it (one leads,
# one stands by), SANDBOXES sandboxes with a 30 s idle timeout (flush interval 10 s), and a client
# that sends each sandbox a request about once a second through the built-in proxy of the first
# gateway (phase 1) and then of both (phase 2, alternating). Each phase runs WARMUP seconds
# unmeasured, then SECONDS measured: the writes both gateways made (agentbox_activity_writes_total)
# and left out (agentbox_activity_writes_skipped_total), per sandbox per flush interval.
# usage: bench/activity.sh [sandboxes] [seconds]    (default 100, 60; WARMUP default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100}"
SECS="${2:-60}"
WARMUP="${WARMUP:-15}"
[ "${SKIP_BUILD:-}" = 1 ] || mvn -B -q -DskipTests package
WORK=$(mktemp -d)
java -jar bench/target/agentbox-bench.jar cluster --kubeconfig "$WORK/kubeconfig" --replicas "$N" > "$WORK/cluster.log" 2>&1 &
CL=$!
GA=""
GB=""
# The gateways stop first, while their API server is still there (the leader hands back its Lease).
cleanup() {
  set +e
  for g in $GB $GA; do kill "$g" 2>/dev/null; wait "$g" 2>/dev/null; done
  kill "$CL" 2>/dev/null; wait "$CL" 2>/dev/null
  return 0
}
trap cleanup EXIT
for _ in $(seq 1 600); do [ -f "$WORK/kubeconfig" ] && break; sleep 0.1; done
gateway() { # name api-port proxy-port grpc-port
  # shellcheck disable=SC2086
  java ${GATEWAY_JAVA_OPTS:-} -jar gateway/target/agentbox-gateway.jar --kubeconfig "$WORK/kubeconfig" --host 127.0.0.1 \
    --home "$WORK/$1" --identity "$1" --api-port "$2" --proxy-port "$3" --grpc-port "$4" > "$WORK/$1.log" 2>&1 &
}
gateway a 18080 18081 19002
GA=$!
for _ in $(seq 1 600); do curl -s localhost:18080/metrics 2>/dev/null | grep -q '^agentbox_leader 1.0' && break; sleep 0.1; done
gateway b 28080 28081 29002
GB=$!
for _ in $(seq 1 600); do curl -sf localhost:28080/readyz >/dev/null 2>&1 && break; sleep 0.1; done
python3 - "$N" "$SECS" "$WARMUP" <<'PY'
import http.client, json, re, sys, threading, time
n, secs, warmup = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
INTERVAL = 10.0  # min(120 s, idle timeout 30 s / 3)
A, B = ("127.0.0.1", 18080, 18081), ("127.0.0.1", 28080, 28081)

def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=json.dumps(body) if body else None, headers={"content-type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data

deadline = time.time() + 120
while True:
    status, data = call(A[1], "GET", "/v1/sandboxpools/bench")
    m = re.search(rb'"live":\{"idle":(\d+)', data)
    if status == 200 and m and int(m.group(1)) >= n:
        break
    if time.time() > deadline:
        sys.exit("the pool did not get %d idle pods: %s" % (n, data[:300]))
    time.sleep(0.5)

ids, lock = [], threading.Lock()
def create(k):
    for _ in range(k):
        status, data = call(A[1], "POST", "/v1/sandboxes", {"poolName": "bench", "image": "bench/sandbox:2", "idleTimeout": "30s", "waitForRunning": True})
        if status != 201:
            sys.exit("create answered %d: %s" % (status, data[:300]))
        with lock:
            ids.append(json.loads(data)["sandbox"]["sandboxId"])
threads = [threading.Thread(target=create, args=(n // 8 + (1 if i < n % 8 else 0),)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if len(ids) != n:
    sys.exit("only %d sandboxes" % len(ids))

def metric(port, name):
    _, data = call(port, "GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0

def counters():
    return {g: (metric(p, "agentbox_activity_writes_total"), metric(p, "agentbox_activity_writes_skipped_total")) for g, p in (("a", A[1]), ("b", B[1]))}

def load(proxies, seconds):
    """Each sandbox once a second, through the proxies in turn, on one kept-alive connection per proxy."""
    conns = {p: http.client.HTTPConnection("127.0.0.1", p, timeout=30) for p in proxies}
    end, sent, rnd = time.time() + seconds, 0, 0
    while time.time() < end:
        start = time.time()
        rnd += 1
        for i, sid in enumerate(ids):
            p = proxies[(i + rnd) % len(proxies)]  # each sandbox through each proxy in turn
            conns[p].request("GET", "/sandboxes/%s/8080/health" % sid)
            r = conns[p].getresponse()
            r.read()
            if r.status != 200:
                sys.exit("proxy %d answered %d for %s" % (p, r.status, sid))
            sent += 1
        time.sleep(max(0.0, 1.0 - (time.time() - start)))
    return sent

print("| phase | requests | writes a / b | left out a / b | writes per sandbox per 10 s interval |")
print("|---|---|---|---|---|")
for name, proxies in (("through a only", [A[2]]), ("through a and b", [A[2], B[2]])):
    load(proxies, warmup)
    before = counters()
    sent = load(proxies, secs)
    after = counters()
    w = {g: after[g][0] - before[g][0] for g in after}
    s = {g: after[g][1] - before[g][1] for g in after}
    per = (w["a"] + w["b"]) / (n * secs / INTERVAL)
    print("| %s | %d | %d / %d | %d / %d | %.2f |" % (name, sent, w["a"], w["b"], s["a"], s["b"], per))
sys.stdout.flush()
PY
