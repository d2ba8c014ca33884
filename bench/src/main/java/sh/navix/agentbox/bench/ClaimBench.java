package sh.navix.agentbox.bench;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * Claim latency as an HTTP client sees it: the shipped gateway jar (its own process) against the
 * dev cluster, {@code POST /v1/sandboxes} with {@code waitForRunning: false} at concurrency 1, 16
 * and 64 on a pool large enough that no request waits for a pod, sent by {@link LeanClients} (and
 * once, for comparison, by 64 threads of the JDK's HttpClient). The peer, in the same run: the
 * embedded API server's raw compare-and-swap update rate at concurrency 64 on as many pods, which
 * is the ceiling for claims.
 */
final class ClaimBench {
  private ClaimBench() {}

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static void run(String[] args) throws Exception {
    Map<String, String> a = ReconcileBench.flags(args);
    int perRow = Integer.parseInt(a.getOrDefault("--claims", "1000")); // at concurrency 1 and 16; rows at 64 have ROWS_AT_64 times as many
    Path jar = Path.of(a.getOrDefault("--gateway-jar", "gateway/target/agentbox-gateway.jar"));
    int[] levels = {1, 16, 64};
    int warmup = 300; // claims before each series of rows, unmeasured (the claim write alone has a code path of its own)
    // A gateway in production has served many sandboxes: warm its JIT with whole lifecycles
    // (create, DELETE, pod recycled) before anything is measured.
    int warmupCycles = Integer.parseInt(a.getOrDefault("--warmup-cycles", "3000"));
    int maxWarmupCycles = Integer.parseInt(a.getOrDefault("--warmup-max-cycles", "30000"));
    if ("write-alone".equals(a.get("--only"))) {
      writeAloneOnly(jar, perRow, warmup, warmupCycles, maxWarmupCycles, Integer.parseInt(a.getOrDefault("--repeat", "4")));
      return;
    }
    // The rows of the three kinds of claim made while the gateway leads release their sandboxes
    // after them and wait for the pool to be whole again; the rows of the claim write alone (no
    // leader, nothing recycled) and the row from the JDK's HttpClient use up pods. Each row is
    // rehearsed with a fifth of its claims first.
    int writeAloneClaims = 0;
    for (int c : levels) {
      writeAloneClaims += claimsAt(c, perRow) + claimsAt(c, perRow) / REHEARSAL_SHARE;
    }
    writeAloneClaims += claimsAt(64, perRow) + claimsAt(64, perRow) / REHEARSAL_SHARE; // the JDK client's row
    // Those rows and the write alone's warm-up use up pods; the claim warm-up before the leader's
    // rows is released, which leaves its share as slack.
    int poolSize = 2 * warmup + writeAloneClaims;

    Path work = Files.createTempDirectory("agentbox-claim-bench");
    Vertx vertx = Vertx.vertx();
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    KubernetesClient admin = cluster.client();
    Path kubeconfig = cluster.writeKubeconfig(work.resolve("kubeconfig"));
    ReconcileBench.log("dev cluster at %s; pool of %d pods, rows of %d claims (%d at 64)", cluster.masterUrl(), poolSize, perRow,
        claimsAt(64, perRow));

    GatewayProcess gateway = GatewayProcess.start(jar, kubeconfig, work);
    String base = gateway.base();
    LeanClients lean = new LeanClients(base);
    try {
      ReconcileBench.await("gateway leads", Duration.ofSeconds(60), () -> ReconcileBench.metric(base, "agentbox_leader") == 1.0);
      // The peer first, on as many pods as the pool will have: the mock API server's cost grows
      // with the number of objects it holds, so both see the same count.
      Map<Integer, double[]> peer = new java.util.TreeMap<>();
      Result single = casRate(admin, kubeconfig, poolSize, new int[] {16, 64}, 2000, peer);
      ReconcileBench.log("peer: raw CAS update rate %.0f/s at 16, %.0f/s at 64; single-client p50 %.1f ms",
          peer.get(16)[0], peer.get(64)[0], single.pct(50));
      List<String> rows = new ArrayList<>();
      Map<Integer, Result> leanPeer = leanCas(admin, gateway.process().pid(), levels, perRow, peer, single, rows);
      peerPodsToPool(admin, poolSize);

      warmUp(base, gateway.process().pid(), warmupCycles, maxWarmupCycles);
      List<String> cycleRows = new ArrayList<>();
      for (int c : new int[] {1, 16}) {
        awaitIdle(admin, poolSize);
        var m = ProcessCpu.during(gateway.process().pid(), () -> cycles(base, 2 * perRow, c, "bench/sandbox:2"));
        Cycles r = m.result();
        cycleRows.add(String.format(Locale.ROOT, "| %d | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %d | %.0f %% |",
            c, 2 * perRow, r.create.pct(50), r.create.pct(99), r.delete.pct(50), r.delete.pct(99), r.perSecond, r.failed, m.jitPercent()));
        ReconcileBench.log("%s", cycleRows.get(cycleRows.size() - 1));
      }
      awaitIdle(admin, poolSize);
      // the claim-only path's own warm-up, not reported
      List<String> warm = new ArrayList<>();
      lean.create(body("bench/sandbox:2"), warmup, 8, warm);
      lean.release(warm, 16);
      awaitIdle(admin, poolSize);
      for (String image : List.of("bench/sandbox:2", "bench/idle:1", "bench/slow-pull:1")) {
        for (int c : levels) {
          rows.add(claimRow(image.equals("bench/idle:1") ? "none (idle image)" : "swap to " + image, base, gateway, lean, claimsAt(c, perRow), c,
              image, false, peer, single, leanPeer, true));
          ReconcileBench.log("%s", rows.get(rows.size() - 1));
          awaitIdle(admin, poolSize);
        }
      }
      // What a user who waits for Running sees: the claim, the swap, the kubelet's restart and the
      // leader's "running" write, all inside the answer (the leader's writes wait their turn
      // behind at most --max-reconcile-writes others).
      for (int c : new int[] {16, 64}) {
        rows.add(claimRow("swap to bench/sandbox:2, waitForRunning: true (time to Running)", base, gateway, lean, claimsAt(c, perRow), c,
            "bench/sandbox:2", true, peer, single, leanPeer, true));
        ReconcileBench.log("%s", rows.get(rows.size() - 1));
        awaitIdle(admin, poolSize);
      }
      // The claim path alone: the Lease is taken away (held by a name no replica has, for an
      // hour), so the gateway stops its reconcilers and stands by, as a replica that does not
      // lead; nothing marks its sandboxes running, and claims on the idle image give the
      // simulated kubelet nothing to report. Each claim is then exactly one CAS write, like each
      // request of the peer.
      standBy(admin, base, lean, warmup);
      for (int c : levels) {
        rows.add(claimRow("none, replica not leading (the claim write alone)", base, gateway, lean, claimsAt(c, perRow), c, "bench/idle:1", false,
            peer, single, leanPeer, false));
        ReconcileBench.log("%s", rows.get(rows.size() - 1));
      }
      // The same at 64 from the client the bench used before 2026-12-06: 64 threads of the JDK's
      // HttpClient in this JVM, on the same two cores.
      rows.add(claimRow("the claim write alone, from 64 JDK HttpClient threads", base, gateway, null, claimsAt(64, perRow), 64, "bench/idle:1",
          false, peer, single, leanPeer, false));
      ReconcileBench.log("%s", rows.get(rows.size() - 1));
      System.out.println();
      printRows(rows);
      System.out.println();
      System.out.println("Whole lifecycles, one client session each: create (swap to bench/sandbox:2), then DELETE at once");
      System.out.println();
      System.out.println("| concurrency | cycles | create p50 ms | create p99 ms | DELETE p50 ms | DELETE p99 ms | cycles/s | failed | gateway CPU in its JIT |");
      System.out.println("|---|---|---|---|---|---|---|---|---|");
      cycleRows.forEach(System.out::println);
      System.out.printf(Locale.ROOT, "%nPeer, same run, same object count: raw CAS pod updates on the embedded API server: "
          + "%.0f/s at concurrency 16 (p50 %.1f ms / p99 %.1f ms; CPU µs per write: the peer's client %.0f, the API server's process %.0f), "
          + "%.0f/s at concurrency 64 (p50 %.1f ms / p99 %.1f ms; %.0f / %.0f µs); "
          + "p50 %.1f ms / p99 %.1f ms at concurrency 1 (%.0f/s)%n",
          peer.get(16)[0], peer.get(16)[1], peer.get(16)[2], peer.get(16)[3], peer.get(16)[4],
          peer.get(64)[0], peer.get(64)[1], peer.get(64)[2], peer.get(64)[3], peer.get(64)[4],
          single.pct(50), single.pct(99), 1000 / mean(single));
      printFailuresAndMachine();
    } finally {
      tearDown(lean, gateway, cluster, vertx);
    }
  }

  /**
   * The quick form ({@code --only write-alone}): what the gateway's own CPU per claim is, to compare
   * two versions of it. The lean peer at 16 and 64 on plain pods (no fabric8 peer), the warm-up
   * as in the full run, then the claim write alone (the gateway not leading) at 16 and 64,
   * {@code repeats} times over, each row rehearsed and started on a quiet machine as in the full
   * run. Pool: the claims of those rows and two warm-ups.
   */
  static void writeAloneOnly(Path jar, int perRow, int warmup, int warmupCycles, int maxWarmupCycles, int repeats) throws Exception {
    int[] levels = {16, 64};
    int rowClaims = 0;
    for (int c : levels) {
      rowClaims += repeats * (claimsAt(c, perRow) + claimsAt(c, perRow) / REHEARSAL_SHARE);
    }
    int poolSize = 2 * warmup + rowClaims;
    Path work = Files.createTempDirectory("agentbox-claim-bench");
    Vertx vertx = Vertx.vertx();
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    KubernetesClient admin = cluster.client();
    Path kubeconfig = cluster.writeKubeconfig(work.resolve("kubeconfig"));
    ReconcileBench.log("dev cluster at %s; pool of %d pods; the claim write alone at 16 and 64, %d times, rows of %d claims (%d at 64)",
        cluster.masterUrl(), poolSize, repeats, perRow, claimsAt(64, perRow));
    GatewayProcess gateway = GatewayProcess.start(jar, kubeconfig, work);
    String base = gateway.base();
    LeanClients lean = new LeanClients(base);
    try {
      ReconcileBench.await("gateway leads", Duration.ofSeconds(60), () -> ReconcileBench.metric(base, "agentbox_leader") == 1.0);
      plainPods(admin, "peer", "cas-", poolSize, LEAN_COUNTER_KEY);
      List<String> rows = new ArrayList<>();
      Map<Integer, double[]> noPeer = Map.of();
      Map<Integer, Result> leanPeer = leanCas(admin, gateway.process().pid(), levels, perRow, noPeer, null, rows);
      peerPodsToPool(admin, poolSize);
      warmUp(base, gateway.process().pid(), warmupCycles, maxWarmupCycles);
      awaitIdle(admin, poolSize);
      standBy(admin, base, lean, warmup);
      for (int k = 0; k < repeats; k++) {
        for (int c : levels) {
          rows.add(claimRow("the claim write alone, round " + (k + 1), base, gateway, lean, claimsAt(c, perRow), c, "bench/idle:1", false,
              noPeer, null, leanPeer, false));
          ReconcileBench.log("%s", rows.get(rows.size() - 1));
        }
      }
      System.out.println();
      printRows(rows);
      printFailuresAndMachine();
    } finally {
      tearDown(lean, gateway, cluster, vertx);
    }
  }

  /**
   * The peers' pods removed and pool bench created in their place, {@code poolSize} pods (the same
   * object count for the claims as for the peers), once all are idle and Ready.
   */
  static void peerPodsToPool(KubernetesClient admin, int poolSize) {
    admin.pods().inNamespace("peer").delete();
    ReconcileBench.await("peer pods gone", Duration.ofMinutes(10), () -> admin.pods().inNamespace("peer").list().getItems().isEmpty());
    admin.resource(ReconcileBench.pool("bench", poolSize)).create();
    ReconcileBench.await("pool warm", Duration.ofMinutes(20), () -> {
      SandboxPool p = admin.resources(SandboxPool.class).inNamespace("default").withName("bench").get();
      return p.getStatus() != null && p.getStatus().getIdleReplicas() != null && p.getStatus().getIdleReplicas() == poolSize
          && p.getStatus().getUnavailableIdleReplicas() == 0;
    });
    ReconcileBench.log("pool warm: %d idle pods", poolSize);
  }

  /** Ends a run, either form: the clients, the gateway, the dev cluster, then Vert.x. */
  static void tearDown(LeanClients lean, GatewayProcess gateway, DevCluster cluster, Vertx vertx) throws Exception {
    lean.close();
    gateway.close();
    cluster.stop().await(60, TimeUnit.SECONDS);
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  static void printFailuresAndMachine() {
    if (!FAILURES.isEmpty()) {
      System.out.println("\nFailed requests, by answer:");
      FAILURES.forEach((k, n) -> System.out.println("  " + n.get() + " x " + k));
    }
    System.out.printf(Locale.ROOT, "machine: %d cores, JVM %s; date %s%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"), Instant.now().toString().substring(0, 10));
  }

  /**
   * Takes the Lease away from the gateway (held by a name no replica has, for an hour) and waits
   * until it stands by; then {@code warmup} unmeasured claims of the write alone at 64 and the
   * metrics scrapes each row makes.
   */
  static void standBy(KubernetesClient admin, String base, LeanClients lean, int warmup) throws Exception {
    sh.navix.agentbox.devcluster.Leases.takeOver(admin, "default", "agentbox-gateway-leader", "bench-elsewhere", Duration.ofHours(1));
    ReconcileBench.await("gateway stands by", Duration.ofSeconds(60), () -> ReconcileBench.metric(base, "agentbox_leader") == 0.0);
    lean.post("/v1/sandboxes", body("bench/idle:1"), warmup, 64);
    scrapeMetrics(base);
  }

  /** The claim rows as a table. */
  static void printRows(List<String> rows) {
    System.out.println("| image change | concurrency | claims | p50 ms | p99 ms | p99.9 ms | claims/s | % of peer's rate | % of lean peer's rate | lost CAS races | non-201 | gateway CPU in its JIT | CPU µs per claim: gateway / the rest | cache lag ms: mean / max |");
    System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    rows.forEach(System.out::println);
  }

  /** JIT share of the gateway's CPU over a warm-up round, below which the gateway counts as warm. */
  static final double WARM_JIT_PERCENT = 10;
  static final int WARMUP_ROUND = 1000;
  /** /metrics scrapes per warm-up round. */
  static final int WARMUP_SCRAPES = 200;

  /**
   * Reads /metrics {@value #WARMUP_SCRAPES} times. Each measured row reads the claim conflicts
   * from it just before it starts: a cold exposition path left the JIT compiling it into the row
   * (seen with -XX:+PrintCompilation).
   */
  static void scrapeMetrics(String base) {
    for (int i = 0; i < WARMUP_SCRAPES; i++) {
      conflicts(base);
    }
  }

  /** What the warm-up's lifecycles claim with, in turn: each kind of claim that is measured later. */
  static final List<String> WARMUP_IMAGES = List.of("bench/sandbox:2", "bench/idle:1", "bench/slow-pull:1");
  /** Concurrency of the warm-up's rounds, in turn: the measured rows run at up to 64. */
  static final int[] WARMUP_CONCURRENCY = {8, 64};

  /**
   * Whole lifecycles (create, DELETE at once, the pod recycled by the leader), each kind of claim
   * in turn, at least {@code minCycles}, then in rounds of {@value #WARMUP_ROUND} until the
   * gateway's JIT compiler used under {@value #WARM_JIT_PERCENT} % of its CPU over a round, or
   * {@code maxCycles} in all; rounds alternate between concurrency 8 and 64. On two cores a gateway
   * still compiling spends a third or more of its CPU on it (seen after 3,000 cycles), which is not
   * what a gateway that has run for a while does; and warmed with one kind of claim only, rows of
   * the others set it compiling again (11-32 % of its CPU at 64 on 2026-12-06).
   */
  static void warmUp(String base, long gatewayPid, int minCycles, int maxCycles) throws Exception {
    int done = 0;
    for (int round = minCycles, k = 0; ; round = WARMUP_ROUND, k++) {
      int n = round;
      int c = WARMUP_CONCURRENCY[k % WARMUP_CONCURRENCY.length];
      var m = ProcessCpu.during(gatewayPid, () -> {
        Cycles r = cycles(base, n, c, WARMUP_IMAGES);
        scrapeMetrics(base);
        return r;
      });
      Cycles warm = m.result();
      double jit = m.jitPercent();
      done += round;
      ReconcileBench.log("warm-up: %d create+DELETE cycles at concurrency %d (%d in all), %.0f/s, %d failed, gateway CPU in its JIT %.0f %%, "
          + "CPU µs per cycle: gateway %.0f / the rest %.0f", round, c, done, warm.perSecond, warm.failed, jit, m.cpuNanos() / 1e3 / round,
          m.selfCpuNanos() / 1e3 / round);
      if (!(jit >= WARM_JIT_PERCENT) || done + WARMUP_ROUND > maxCycles) {
        return;
      }
    }
  }

  /** Rows at concurrency 64 have this many times the claims of the others. */
  static final int ROWS_AT_64 = 4;

  /**
   * Claims in a row at concurrency {@code c}. At 64 a row of 1,000 claims lasts a third of a
   * second; one stall of the machine of 30 ms then holds up all 64 claims in flight, 6 % of the
   * row, and becomes its p99 whether or not it comes once in a while.
   */
  static int claimsAt(int c, int perRow) {
    return c == 64 ? ROWS_AT_64 * perRow : perRow;
  }

  /** Sends {@code count} creates of one kind, the sandbox ids created added to the list, and returns what they took. */
  interface Claims {
    Result send(int count, List<String> ids) throws Exception;
  }

  /** A row is rehearsed, unmeasured, with 1/{@value} of its claims. */
  static final int REHEARSAL_SHARE = 5;

  /**
   * One measured row of claims: {@code n} creates at concurrency {@code c}, with the CAS races lost
   * and the gateway's JIT share meanwhile. The row is first rehearsed with {@code n / }{@value
   * #REHEARSAL_SHARE} unmeasured claims of the same kind, at the same concurrency, from the same
   * client: after 14,000 warm-up lifecycles a row of a kind the warm-up does not run (creates
   * alone, no DELETE) still set the gateway's JIT compiling for up to a third of its CPU during
   * the row (2026-12-06), which a gateway that has served such bursts before does not do. Then the
   * machine is left to quieten down ({@link #awaitQuiet}). With {@code release}, the sandboxes of
   * both are released afterwards (the leader recycles their pods; the caller waits for the pool).
   */
  static String claimRow(String label, String base, GatewayProcess gateway, LeanClients lean, int n, int c, String image,
      boolean waitForRunning, Map<Integer, double[]> peer, Result single, Map<Integer, Result> leanPeer, boolean release) throws Exception {
    Claims claims = (count, ids) -> lean == null ? run(base, count, c, image) : lean.create(body(image, waitForRunning), count, c, ids);
    List<String> created = new ArrayList<>();
    claims.send(n / REHEARSAL_SHARE, created);
    awaitQuiet(gateway.process().pid());
    double lost = conflicts(base);
    CacheLag lagBefore = CacheLag.read(base);
    var m = ProcessCpu.during(gateway.process().pid(), () -> claims.send(n, created));
    Result r = m.result();
    String lag = CacheLag.read(base).since(lagBefore);
    if (lean != null) {
      ReconcileBench.log("%s at %d: claims at or over p99 (%.1f ms) were in flight %s", label, c, r.pct(99), lean.slowest());
    }
    if (release) {
      int notReleased = lean.release(created, 16);
      if (notReleased > 0) {
        ReconcileBench.log("%d of %d sandboxes not released", notReleased, created.size());
      }
    }
    return String.format(Locale.ROOT, "| %s | %d | %d | %.1f | %.1f | %.1f | %.0f | %s | %.0f %% | %.0f | %d | %.0f %% | %.0f / %.0f | %s |",
        label, c, r.ok, r.pct(50), r.pct(99), r.pct(99.9), r.perSecond, ofPeer(r, c, peer, single), 100 * r.perSecond / leanPeer.get(c).perSecond,
        conflicts(base) - lost, r.failed, m.jitPercent(), m.cpuNanos() / 1e3 / n, m.selfCpuNanos() / 1e3 / n, lag);
  }

  /**
   * The gateway's {@code agentbox_claim_cache_lag_seconds} (from a claim's answer until the
   * gateway's own cache shows it) as read at one moment: over a row, its mean, and the largest of
   * the last minute or two (Micrometer's decaying max), which the row's claims mostly set.
   */
  record CacheLag(double count, double sumSeconds, double maxSeconds) {
    static CacheLag read(String base) {
      String name = "agentbox_claim_cache_lag_seconds";
      String page = ReconcileBench.metrics(base);
      return new CacheLag(ReconcileBench.metricIn(page, name + "_count"), ReconcileBench.metricIn(page, name + "_sum"),
          ReconcileBench.metricIn(page, name + "_max"));
    }

    String since(CacheLag before) {
      double count = this.count - before.count;
      return count > 0 ? String.format(Locale.ROOT, "%.1f / %.1f", 1e3 * (sumSeconds - before.sumSeconds) / count, 1e3 * maxSeconds) : "–";
    }
  }

  /** CPU both processes may use together, in per cent of one core, for the machine to count as quiet. */
  static final double QUIET_PERCENT = 25;

  /**
   * Waits (at most a minute) until the gateway and this JVM (the API server, the simulated node)
   * used under {@value #QUIET_PERCENT} % of one core together over half a second: what the
   * previous row's claims set off (the simulated kubelet's restarts and status writes, the
   * leader marking sandboxes running) is over, so it does not land on the next row.
   */
  static void awaitQuiet(long gatewayPid) throws InterruptedException {
    long self = ProcessHandle.current().pid();
    long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
    while (System.nanoTime() < deadline) {
      long before = ProcessCpu.totalNanos(gatewayPid) + ProcessCpu.totalNanos(self);
      Thread.sleep(500);
      long used = ProcessCpu.totalNanos(gatewayPid) + ProcessCpu.totalNanos(self) - before;
      if (used < QUIET_PERCENT / 100 * 500_000_000L) {
        return;
      }
    }
    ReconcileBench.log("the machine did not quieten down within a minute; measuring anyway");
  }

  record Result(int ok, int failed, double[] millis, double perSecond) {
    double pct(double p) {
      if (millis.length == 0) {
        return Double.NaN;
      }
      int i = (int) Math.ceil(p / 100.0 * millis.length) - 1;
      return millis[Math.max(0, Math.min(millis.length - 1, i))];
    }
  }

  /** A create on pool bench with {@code image} that answers at once (no waiting for Running; a 5 s wait budget). */
  static String body(String image) {
    return body(image, false);
  }

  /** The same, answered once the sandbox is Running when {@code waitForRunning}. */
  static String body(String image, boolean waitForRunning) {
    return "{\"poolName\":\"bench\",\"image\":\"" + image + "\",\"waitForRunning\":" + waitForRunning + ",\"waitTimeoutSeconds\":5}";
  }

  /** {@code n} creates from {@code c} client threads (the JDK's HttpClient), each sending its next request when the last answered. */
  static Result run(String base, int n, int c, String image) throws Exception {
    String body = body(image);
    double[] millis = new double[n];
    AtomicInteger failed = new AtomicInteger();
    double seconds = closedLoop(n, c, i -> {
      long s = System.nanoTime();
      try {
        HttpResponse<String> r = create(base, body);
        if (r.statusCode() != 201) {
          failed.incrementAndGet();
          noteFailure(r);
        }
      } finally {
        millis[i] = (System.nanoTime() - s) / 1e6;
      }
    }, failed);
    double[] sorted = millis.clone();
    Arrays.sort(sorted);
    return new Result(n - failed.get(), failed.get(), sorted, n / seconds);
  }

  /** Distinct failure answers (method, status, start of the body) and how often each came, printed at the end. */
  static final Map<String, AtomicInteger> FAILURES = new java.util.concurrent.ConcurrentHashMap<>();

  static void noteFailure(HttpResponse<String> r) {
    String body = r.body() == null ? "" : r.body();
    noteFailure(r.request().method() + " " + r.statusCode() + " " + body.substring(0, Math.min(120, body.length())));
  }

  static void noteFailure(String what) {
    FAILURES.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
  }

  interface Step {
    void run(int i) throws Exception;
  }

  /** Runs steps 0..n-1 from {@code c} client threads, each taking the next when its last is done; a step that throws counts as failed. Returns the seconds taken. */
  static double closedLoop(int n, int c, Step step, AtomicInteger failed) throws Exception {
    AtomicInteger next = new AtomicInteger();
    ExecutorService clients = Executors.newFixedThreadPool(c);
    Instant t0 = Instant.now();
    List<Future<?>> fs = new ArrayList<>();
    for (int k = 0; k < c; k++) {
      fs.add(clients.submit(() -> {
        for (int i; (i = next.getAndIncrement()) < n; ) {
          try {
            step.run(i);
          } catch (Exception e) {
            failed.incrementAndGet();
          }
        }
        return null;
      }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    clients.shutdown();
    return Duration.between(t0, Instant.now()).toNanos() / 1e9;
  }

  static HttpResponse<String> create(String base, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes"))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  static void awaitIdle(KubernetesClient admin, int poolSize) {
    ReconcileBench.await("every pod idle again", Duration.ofMinutes(5), () -> {
      SandboxPool p = admin.resources(SandboxPool.class).inNamespace("default").withName("bench").get();
      return p.getStatus() != null && p.getStatus().getIdleReplicas() != null && p.getStatus().getIdleReplicas() == poolSize;
    });
  }

  record Cycles(int failed, Result create, Result delete, double perSecond) {}

  /**
   * {@code n} lifecycles from {@code c} clients: each creates a sandbox and deletes it as soon as
   * the create is answered (the pod is recycled by the leader meanwhile).
   */
  static Cycles cycles(String base, int n, int c, String image) throws Exception {
    return cycles(base, n, c, List.of(image));
  }

  /** The same, cycle {@code i} claiming with {@code images[i % size]}. */
  static Cycles cycles(String base, int n, int c, List<String> images) throws Exception {
    List<String> bodies = images.stream()
        .map(image -> "{\"poolName\":\"bench\",\"image\":\"" + image + "\",\"waitForRunning\":false,\"waitTimeoutSeconds\":10}").toList();
    AtomicInteger failed = new AtomicInteger();
    double[] create = new double[n];
    double[] delete = new double[n];
    double seconds = closedLoop(n, c, i -> {
      long s = System.nanoTime();
      HttpResponse<String> r = create(base, bodies.get(i % bodies.size()));
      create[i] = (System.nanoTime() - s) / 1e6;
      if (r.statusCode() != 201) {
        failed.incrementAndGet();
        noteFailure(r);
        return;
      }
      String id = new io.vertx.core.json.JsonObject(r.body()).getJsonObject("sandbox").getString("sandboxId");
      s = System.nanoTime();
      HttpResponse<String> d = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id)).DELETE().build(),
          HttpResponse.BodyHandlers.ofString());
      delete[i] = (System.nanoTime() - s) / 1e6;
      if (d.statusCode() != 202) {
        failed.incrementAndGet();
        noteFailure(d);
      }
    }, failed);
    double[] cs = create.clone();
    double[] ds = delete.clone();
    Arrays.sort(cs);
    Arrays.sort(ds);
    return new Cycles(failed.get(), new Result(n, 0, cs, 0), new Result(n, 0, ds, 0), n / seconds);
  }

  /** Claims of the gateway that lost a compare-and-swap race so far (each retried on another pod). */
  static double conflicts(String base) {
    return ReconcileBench.metric(base, "agentbox_claim_conflicts_total");
  }

  /** A row's rate against the peer's at the same concurrency (one at a time: the peer's sequential rate). */
  static String ofPeer(Result r, int c, Map<Integer, double[]> peer, Result single) {
    double p = c == 1 && single != null ? 1000 / mean(single) : peer.containsKey(c) ? peer.get(c)[0] : Double.NaN;
    return Double.isNaN(p) ? "–" : String.format(Locale.ROOT, "%.0f %%", 100 * r.perSecond / p);
  }

  static double mean(Result r) {
    return Arrays.stream(r.millis).average().orElse(Double.NaN);
  }

  /**
   * Compare-and-swap updates per second (PUT with the resourceVersion last read) on {@code pods}
   * pods at each concurrency level: concurrency → {rate, p50 ms, p99 ms}.
   */
  static Result casRate(KubernetesClient admin, Path kubeconfig, int pods, int[] levels, int updates, Map<Integer, double[]> rateOut) throws Exception {
    plainPods(admin, "peer", "cas-", pods, LEAN_COUNTER_KEY);
    // Measured from a separate JVM, as the gateway's writes are: same client library, same
    // loopback hop, same process boundary.
    Process peer = new ProcessBuilder(GatewayProcess.pinned(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", Path.of(ClaimBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString(),
        CasPeer.class.getName(), kubeconfig.toString(),
        String.join(",", Arrays.stream(levels).mapToObj(Integer::toString).toList()), Integer.toString(updates),
        Long.toString(ProcessHandle.current().pid()))))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(peer.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
    if (peer.waitFor() != 0) {
      throw new IllegalStateException("CAS peer failed");
    }
    double[] millis = null;
    for (String line : out.split("\n")) {
      String[] f = line.trim().split(" ");
      if (f[0].equals("single")) {
        millis = Arrays.stream(f).skip(1).mapToDouble(Double::parseDouble).sorted().toArray();
      } else if (f.length == 6 && f[0].matches("\\d+")) {
        rateOut.put(Integer.parseInt(f[0]), Arrays.stream(f).skip(1).mapToDouble(Double::parseDouble).toArray());
      }
    }
    if (millis == null || rateOut.size() != levels.length) {
      throw new IllegalStateException("CAS peer printed no result: " + out);
    }
    return new Result(millis.length, 0, millis, 0);
  }

  /**
   * Creates {@code count} plain pods (one container on the idle image) named {@code prefix}NNNNN in
   * {@code namespace}, each with annotation {@code counter} at ten zeros (what {@link
   * LeanClients#casPuts} changes), and waits until all are Ready.
   */
  static void plainPods(KubernetesClient admin, String namespace, String prefix, int count, String counter) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(16);
    List<Future<?>> created = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String name = String.format(Locale.ROOT, "%s%05d", prefix, i);
      created.add(pool.submit(() -> admin.pods().inNamespace(namespace).resource(new PodBuilder()
          .withNewMetadata().withName(name).withNamespace(namespace).addToAnnotations(counter, "0000000000").endMetadata()
          .withNewSpec().addNewContainer().withName("c").withImage("bench/idle:1").endContainer().endSpec().build()).create()));
    }
    for (Future<?> f : created) {
      f.get();
    }
    pool.shutdown();
    ReconcileBench.await(namespace + " pods Ready", Duration.ofMinutes(10), () -> admin.pods().inNamespace(namespace).list().getItems().stream()
        .filter(ReconcileBench::ready).count() == count);
  }

  /** Each peer pod's annotation that the lean peer's writes change: ten digits follow it in the pod's JSON. */
  static final String LEAN_COUNTER_KEY = "bench/lean-peer";

  /**
   * The API server's own answer to the claims' kind of write, from the claims' own client: the
   * <b>lean peer</b> sends compare-and-swap PUTs of whole pods (each the pod as its last answer
   * gave it, so with that answer's resourceVersion, one annotation changed) straight to the API
   * server from the lean clients in this JVM, on the peer's pods. It is what a claim row would
   * be with a gateway that cost nothing: the same client, the same counts, rehearsal and quiet as
   * a row of claims, after 3000 unmeasured writes at 8. Its rows go to {@code rows} (the CPU
   * column: this JVM's, the API server's and the client's, per write); concurrency → result.
   */
  static Map<Integer, Result> leanCas(KubernetesClient admin, long gatewayPid, int[] levels, int perRow, Map<Integer, double[]> peer,
      Result single, List<String> rows) throws Exception {
    Map<String, io.vertx.core.buffer.Buffer> objects = LeanClients.podBodies(admin, "peer");
    List<String> names = new ArrayList<>(objects.keySet());
    String collection = "/api/v1/namespaces/peer/pods";
    String counter = LeanClients.counterOf(LEAN_COUNTER_KEY);
    Map<Integer, Result> out = new java.util.TreeMap<>();
    try (LeanClients direct = new LeanClients(admin.getMasterUrl().toString())) {
      int from = 0;
      Result warm = direct.casPuts(collection, names, objects, counter, from, 3000, 8);
      from += 3000;
      if (warm.failed() > 0) {
        ReconcileBench.log("lean peer: %d of 3000 warm-up writes failed", warm.failed());
      }
      for (int c : levels) {
        int n = claimsAt(c, perRow);
        direct.casPuts(collection, names, objects, counter, from, n / REHEARSAL_SHARE, c);
        from += n / REHEARSAL_SHARE;
        awaitQuiet(gatewayPid);
        int start = from;
        var m = ProcessCpu.during(gatewayPid, () -> direct.casPuts(collection, names, objects, counter, start, n, c));
        from += n;
        Result r = m.result();
        out.put(c, r);
        ReconcileBench.log("lean peer at %d: writes at or over p99 (%.1f ms) were in flight %s", c, r.pct(99), direct.slowest());
        rows.add(String.format(Locale.ROOT, "| lean peer: CAS PUT of the pod straight to the API server, no gateway | %d | %d | %.1f | %.1f | %.1f | %.0f "
            + "| %s | 100 %% | – | %d | – | – / %.0f | – |", c, r.ok, r.pct(50), r.pct(99), r.pct(99.9), r.perSecond, ofPeer(r, c, peer, single), r.failed,
            m.selfCpuNanos() / 1e3 / n));
        ReconcileBench.log("%s", rows.get(rows.size() - 1));
      }
    }
    return out;
  }
}
