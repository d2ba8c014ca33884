package sh.navix.agentbox.bench;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * What one compare-and-swap write costs the dev cluster's API server: the embedded cluster in this
 * JVM, {@code --pods} plain pods, and rounds of {@code --writes} PUTs of whole pods (each carrying
 * the resourceVersion its last answer gave, one annotation changed) from the lean clients at
 * {@code --concurrency}, after three rounds' worth of warm-up. Per round: writes/s, p50/p99 ms, this JVM's CPU per write (API server,
 * simulated node, client) and that of its busiest thread, the API server's one event loop.
 */
final class ApiServerBench {
  private ApiServerBench() {}

  static final String COUNTER_KEY = "bench/counter";

  static void run(String[] args) throws Exception {
    Map<String, String> a = ReconcileBench.flags(args);
    int pods = Integer.parseInt(a.getOrDefault("--pods", "2000"));
    int writes = Integer.parseInt(a.getOrDefault("--writes", "20000"));
    int concurrency = Integer.parseInt(a.getOrDefault("--concurrency", "16"));
    int rounds = Integer.parseInt(a.getOrDefault("--rounds", "3"));
    Vertx vertx = Vertx.vertx();
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    try {
      KubernetesClient admin = cluster.client();
      ClaimBench.plainPods(admin, "default", "w-", pods, COUNTER_KEY);
      Map<String, Buffer> objects = LeanClients.podBodies(admin, "default");
      List<String> names = new ArrayList<>(objects.keySet());
      String collection = "/api/v1/namespaces/default/pods";
      String counter = LeanClients.counterOf(COUNTER_KEY);
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      System.out.println("| round | writes | failed | writes/s | p50 ms | p99 ms | CPU µs per write: this JVM | its busiest thread |");
      System.out.println("|---|---|---|---|---|---|---|---|");
      try (LeanClients client = new LeanClients(cluster.masterUrl())) {
        int from = 0;
        // Warm-up, not shown: the JIT settles over about three rounds' worth.
        client.casPuts(collection, names, objects, counter, from, 3 * writes, concurrency);
        from += 3 * writes;
        for (int r = 1; r <= rounds; r++) {
          Map<Long, Long> before = new HashMap<>();
          for (long id : threads.getAllThreadIds()) {
            before.put(id, threads.getThreadCpuTime(id));
          }
          long cpu0 = os.getProcessCpuTime();
          ClaimBench.Result result = client.casPuts(collection, names, objects, counter, from, writes, concurrency);
          long cpu = os.getProcessCpuTime() - cpu0;
          from += writes;
          long busiest = 0;
          String busiestName = "?";
          for (long id : threads.getAllThreadIds()) {
            long used = threads.getThreadCpuTime(id) - before.getOrDefault(id, 0L);
            var info = threads.getThreadInfo(id);
            if (info != null && used > busiest) {
              busiest = used;
              busiestName = info.getThreadName();
            }
          }
          System.out.printf(Locale.ROOT, "| %d | %d | %d | %.0f | %.1f | %.1f | %.0f | %.0f (%s) |%n", r, writes, result.failed(), result.perSecond(),
              result.pct(50), result.pct(99), cpu / 1e3 / writes, busiest / 1e3 / writes, busiestName);
        }
      }
      System.out.printf(Locale.ROOT, "%d pods, concurrency %d; machine: %d cores, JVM %s%n", pods, concurrency,
          Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
    } finally {
      cluster.stop().await(60, TimeUnit.SECONDS);
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }
}
