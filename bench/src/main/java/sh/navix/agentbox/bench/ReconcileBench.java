package sh.navix.agentbox.bench;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vertx.core.Vertx;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolPhase;
import sh.navix.agentbox.api.crd.SandboxPoolSpec;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * Reconcile at scale: the shipped gateway jar, as its own process, against the dev cluster.
 * Measures the time from creating {@code pools × pods} warm pods' pools to every pool Ready, then
 * the gateway's CPU, heap and Kubernetes API writes per minute while nothing changes. The peer,
 * in the same run: the same number of pods created directly by a client with 16 threads, which
 * is what the embedded API server and simulated node can do at best.
 */
final class ReconcileBench {
  private ReconcileBench() {}

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static void run(String[] args) throws Exception {
    Map<String, String> a = flags(args);
    int pools = Integer.parseInt(a.getOrDefault("--pools", "100"));
    int pods = Integer.parseInt(a.getOrDefault("--pods", "100"));
    int steady = Integer.parseInt(a.getOrDefault("--steady-seconds", "60"));
    Path jar = Path.of(a.getOrDefault("--gateway-jar", "gateway/target/agentbox-gateway.jar"));
    if (!Files.exists(jar)) {
      throw new IllegalArgumentException(jar + " not found: build with mvn -B -q -DskipTests package first");
    }
    Path work = Files.createTempDirectory("agentbox-bench");
    Vertx vertx = Vertx.vertx();
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    KubernetesClient admin = cluster.client();
    Path kubeconfig = cluster.writeKubeconfig(work.resolve("kubeconfig"));
    log("dev cluster at %s; %d pools x %d pods", cluster.masterUrl(), pools, pods);

    double peerSeconds = peer(admin, pools * pods);
    log("peer: %d pods created directly and Ready in %.1f s", pools * pods, peerSeconds);

    GatewayProcess gateway = GatewayProcess.start(jar, kubeconfig, work);
    String base = gateway.base();
    try {
      await("gateway leads", Duration.ofSeconds(60), () -> metric(base, "agentbox_leader") == 1.0);

      Instant t0 = Instant.now();
      for (int i = 0; i < pools; i++) {
        admin.resource(pool(String.format(Locale.ROOT, "bench-%03d", i), pods)).create();
      }
      await("every pool Ready", Duration.ofMinutes(30), () -> admin.resources(SandboxPool.class).inNamespace("default").list()
          .getItems().stream().filter(p -> p.getStatus() != null && p.getStatus().getPhase() == SandboxPoolPhase.Ready
              && p.getStatus().getIdleReplicas() != null && p.getStatus().getIdleReplicas() == pods).count() == pools);
      double converge = Duration.between(t0, Instant.now()).toMillis() / 1000.0;
      double writesToConverge = metric(base, "agentbox_kube_writes_total");
      log("converged: %d pods Ready in %.1f s with %.0f API writes", pools * pods, converge, writesToConverge);

      // Let the last status writes and one resync pass settle, then measure a quiet window.
      await("settle", Duration.ofSeconds(60), sinceAtLeast(Instant.now(), Duration.ofSeconds(35)));
      double w0 = metric(base, "agentbox_kube_writes_total");
      Duration cpu0 = gateway.process().toHandle().info().totalCpuDuration().orElse(Duration.ZERO);
      Instant s0 = Instant.now();
      await("steady window", Duration.ofSeconds(steady + 30), sinceAtLeast(s0, Duration.ofSeconds(steady)));
      double wall = Duration.between(s0, Instant.now()).toMillis() / 1000.0;
      double writesPerMinute = (metric(base, "agentbox_kube_writes_total") - w0) * 60 / wall;
      double cpuPercent = (gateway.process().toHandle().info().totalCpuDuration().orElse(Duration.ZERO).minus(cpu0).toMillis() / 10.0) / wall;
      double heapMb = metric(base, "jvm_memory_used_bytes{area=\"heap\"") / (1024 * 1024);
      long podCount = admin.resources(SandboxPool.class).inNamespace("default").list().getItems().stream()
          .mapToLong(p -> p.getStatus().getIdleReplicas()).sum();

      System.out.println();
      System.out.printf(Locale.ROOT, "| pods | direct create → all Ready (peer) | gateway: pools created → all Ready | API writes to converge | steady CPU (gateway process) | heap used | API writes/min when idle |%n");
      System.out.printf(Locale.ROOT, "|---|---|---|---|---|---|---|%n");
      System.out.printf(Locale.ROOT, "| %d | %.1f s | %.1f s | %.0f | %.1f %% of one core | %.0f MB | %.1f |%n",
          podCount, peerSeconds, converge, writesToConverge, cpuPercent, heapMb, writesPerMinute);
      System.out.printf(Locale.ROOT, "%nmachine: %d cores, JVM %s; date %s%n", Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.version"), Instant.now().toString().substring(0, 10));
    } finally {
      gateway.close();
      cluster.stop().await(60, TimeUnit.SECONDS);
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** The peer: {@code n} pods created directly (16 threads), until all are Ready; then removed again. */
  static double peer(KubernetesClient admin, int n) throws Exception {
    Instant t0 = Instant.now();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String name = String.format(Locale.ROOT, "peer-%05d", i);
      done.add(pool.submit(() -> admin.pods().inNamespace("peer").resource(new PodBuilder()
          .withNewMetadata().withName(name).withNamespace("peer").addToLabels("bench", "peer").endMetadata()
          .withNewSpec().addNewContainer().withName("sandbox").withImage("bench/idle:1").endContainer().endSpec()
          .build()).create()));
    }
    for (Future<?> f : done) {
      f.get();
    }
    // Readiness from a watch-fed informer: polling LISTs of thousands of pods would load the
    // single-threaded mock API server more than the work being measured.
    try (SharedIndexInformer<Pod> informer = admin.pods().inNamespace("peer").inform()) {
      await("peer pods Ready", Duration.ofMinutes(30), () -> informer.getStore().list().stream().filter(ReconcileBench::ready).count() == n);
      double seconds = Duration.between(t0, Instant.now()).toMillis() / 1000.0;
      admin.pods().inNamespace("peer").withLabel("bench", "peer").delete();
      await("peer pods gone", Duration.ofMinutes(10), () -> informer.getStore().list().isEmpty());
      pool.shutdown();
      return seconds;
    }
  }

  static boolean ready(Pod p) {
    return p.getStatus() != null && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  static SandboxPool pool(String name, int replicas) {
    SandboxPool p = new SandboxPool();
    p.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    SandboxPoolSpec spec = new SandboxPoolSpec();
    spec.setReplicas(replicas);
    spec.setIdleImage("bench/idle:1");
    // No container ports: the simulated node runs no HTTP server per pod, so the benchmark
    // measures the reconciler and the API server, not ten thousand dev runtimes.
    spec.setTemplate(new PodTemplateSpecBuilder().withNewSpec().addNewContainer().withName("sandbox").withImage("bench/sandbox:1")
        .endContainer().endSpec().build());
    p.setSpec(spec);
    return p;
  }

  /** Sum of every sample of a Prometheus metric whose line starts with {@code prefix}. */
  static double metric(String base, String prefix) {
    return metricIn(metrics(base), prefix);
  }

  /** The gateway's /metrics page; empty when it cannot be read. */
  static String metrics(String base) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }

  /** The sum of the series named {@code prefix} on a /metrics page (all their labels); NaN when it has none. */
  static double metricIn(String page, String prefix) {
    double sum = 0;
    boolean found = false;
    for (String line : page.split("\n")) {
      if (line.startsWith(prefix) && (line.length() == prefix.length() || " {,".indexOf(line.charAt(prefix.length())) >= 0)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    return found ? sum : Double.NaN;
  }

  static BooleanSupplier sinceAtLeast(Instant start, Duration d) {
    return () -> !Instant.now().isBefore(start.plus(d));
  }

  static void await(String what, Duration timeout, BooleanSupplier done) {
    // Polls every 500 ms: the probes LIST objects, which loads the mock API server being measured.
    Await.until(what, timeout, Duration.ofMillis(500), () -> done.getAsBoolean() ? Boolean.TRUE : null);
  }

  static Map<String, String> flags(String[] args) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      m.put(args[i], args[i + 1]);
    }
    return m;
  }

  static void log(String fmt, Object... args) {
    System.err.printf(Locale.ROOT, "[bench %s] %s%n", ManagementFactory.getRuntimeMXBean().getUptime() / 1000 + "s", String.format(Locale.ROOT, fmt, args));
  }
}
