package sh.navix.agentbox.bench;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The claim benchmark's peer, in its own JVM: compare-and-swap PUTs of the pods in namespace
 * {@code peer}: for each of the comma-separated concurrency levels, {@code updates} of them from
 * that many clients (each owning disjoint pods, keeping the version its last write returned),
 * then 200 one at a time. Prints a line per level (concurrency, rate, p50 and p99 ms, and the CPU
 * µs per write of this JVM and of the API server's process, whose pid is the optional fourth
 * argument), then a line of the single-client latencies in ms.
 */
final class CasPeer {
  private CasPeer() {}

  public static void main(String[] args) throws Exception {
    Config config = Config.fromKubeconfig(Files.readString(Path.of(args[0])));
    int[] levels = java.util.Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
    int updates = Integer.parseInt(args[2]);
    long serverPid = args.length > 3 ? Long.parseLong(args[3]) : 0; // the API server's process, for its CPU per write
    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
      Map<String, Pod> current = new ConcurrentHashMap<>();
      client.pods().inNamespace("peer").list().getItems().forEach(p -> current.put(p.getMetadata().getName(), p));
      List<String> names = new ArrayList<>(current.keySet());
      // Warm-up: the JIT and the connection pool, as long as the gateway's (3000 lifecycles).
      write(client, current, names, 8, 3000, "w", new ArrayList<>());
      for (int concurrency : levels) {
        List<Double> concurrent = java.util.Collections.synchronizedList(new ArrayList<>());
        var m = ProcessCpu.during(serverPid, () -> write(client, current, names, concurrency, updates, "n" + concurrency, concurrent));
        double rate = m.result();
        double selfMicros = m.selfCpuNanos() / 1e3 / updates;
        double serverMicros = m.cpuNanos() / 1e3 / updates;
        double[] c = concurrent.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        System.out.println(String.format(Locale.ROOT, "%d %.1f %.3f %.3f %.1f %.1f", concurrency, rate,
            c[(int) Math.ceil(0.5 * c.length) - 1], c[(int) Math.ceil(0.99 * c.length) - 1], selfMicros, serverMicros));
      }
      StringBuilder line = new StringBuilder("single");
      for (int i = 0; i < 200; i++) {
        String name = names.get(i % names.size());
        Pod p = current.get(name);
        p.getMetadata().setLabels(Map.of("single", Integer.toString(i)));
        long s = System.nanoTime();
        try {
          current.put(name, client.pods().inNamespace("peer").resource(p).update());
        } catch (RuntimeException e) {
          current.put(name, client.pods().inNamespace("peer").withName(name).get());
        }
        line.append(String.format(Locale.ROOT, " %.3f", (System.nanoTime() - s) / 1e6));
      }
      System.out.println(line);
    }
    System.exit(0);
  }

  static double write(KubernetesClient client, Map<String, Pod> current, List<String> names, int concurrency, int updates, String label,
      List<Double> millis) throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(concurrency);
    AtomicInteger next = new AtomicInteger();
    Instant t0 = Instant.now();
    List<Future<?>> fs = new ArrayList<>();
    for (int k = 0; k < concurrency; k++) {
      List<String> mine = new ArrayList<>();
      for (int i = k; i < names.size(); i += concurrency) {
        mine.add(names.get(i));
      }
      fs.add(clients.submit(() -> {
        int round = 0;
        while (next.getAndIncrement() < updates) {
          String name = mine.get(round++ % mine.size());
          Pod p = current.get(name);
          p.getMetadata().setLabels(Map.of(label, Integer.toString(round)));
          long s = System.nanoTime();
          try {
            current.put(name, client.pods().inNamespace("peer").resource(p).update());
          } catch (RuntimeException e) {
            current.put(name, client.pods().inNamespace("peer").withName(name).get()); // lost to a kubelet write: reread
          }
          millis.add((System.nanoTime() - s) / 1e6);
        }
        return null;
      }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    clients.shutdown();
    return updates / (Duration.between(t0, Instant.now()).toNanos() / 1e9);
  }
}
