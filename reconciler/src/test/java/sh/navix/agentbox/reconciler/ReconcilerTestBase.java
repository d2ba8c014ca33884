package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolSpec;
import sh.navix.agentbox.api.crd.SandboxTemplate;
import sh.navix.agentbox.api.crd.SandboxTemplateSpec;
import sh.navix.agentbox.api.history.HistoryStore;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.reconciler.history.H2HistoryStore;

/**
 * One dev cluster per test class, and "gateway processes" on it: each its own Vert.x, client,
 * cluster cache, history file and reconcilers, so tests can stop, restart and double them.
 */
abstract class ReconcilerTestBase {
  static Vertx clusterVertx;
  static DevCluster cluster;
  static KubernetesClient admin;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

  @BeforeAll
  static void startCluster() throws Exception {
    clusterVertx = Vertx.vertx();
    cluster = DevCluster.start(clusterVertx, new DevClusterOptions().setApiPort(0).setPullDelay(Duration.ofMillis(100)))
        .await(30, TimeUnit.SECONDS);
    admin = cluster.client();
  }

  @AfterAll
  static void stopCluster() throws Exception {
    cluster.stop().await(30, TimeUnit.SECONDS);
    clusterVertx.close().await(10, TimeUnit.SECONDS);
  }

  static ReconcilerOptions fastOptions(String identity) {
    ReconcilerOptions o = new ReconcilerOptions();
    o.identity = identity;
    o.resync = Duration.ofSeconds(2);
    o.tick = Duration.ofMillis(100);
    o.scaleDownProtection = Duration.ofSeconds(1);
    o.stoppingTimeout = Duration.ofSeconds(5);
    o.leaseDuration = Duration.ofSeconds(3);
    o.renewDeadline = Duration.ofSeconds(2);
    o.retryPeriod = Duration.ofMillis(200);
    return o;
  }

  /** The lifecycle half of one gateway process. */
  static final class Process implements AutoCloseable {
    final Vertx vertx = Vertx.vertx();
    final KubernetesClient client;
    final ClusterCache cache;
    final HistoryStore history;
    final Reconcilers reconcilers;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    Process(String identity, Path home) throws Exception {
      this(identity, home, http -> {}, options -> {});
    }

    /** One whose Kubernetes client and reconciler options the test adjusts. */
    Process(String identity, Path home, java.util.function.Consumer<io.fabric8.kubernetes.client.http.HttpClient.Builder> http,
        java.util.function.Consumer<ReconcilerOptions> tune) throws Exception {
      Bus.registerCodecs(vertx.eventBus());
      Config config = new ConfigBuilder().withMasterUrl(cluster.masterUrl()).withNamespace("default").withRequestTimeout(10_000).build();
      client = new KubernetesClientBuilder().withConfig(config).withHttpClientBuilderConsumer(http).build();
      cache = ClusterCache.create(vertx, client, null, Duration.ofMinutes(5));
      cache.start().await(30, TimeUnit.SECONDS);
      Files.createDirectories(home);
      history = H2HistoryStore.open(vertx, home.resolve("history/sandboxes"), Duration.ZERO).await(10, TimeUnit.SECONDS);
      ReconcilerOptions options = fastOptions(identity);
      tune.accept(options);
      reconcilers = Reconcilers.start(vertx, client, cache, history, registry, options)
          .await(10, TimeUnit.SECONDS);
    }

    /** The history record of {@code sandboxId}, or null. */
    sh.navix.agentbox.api.model.Sandbox record(String sandboxId) {
      try {
        return history.get(sandboxId).await(5, TimeUnit.SECONDS).orElse(null);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError(e);
      }
    }

    Bus.ReleaseRequest release(String sandboxId) {
      return new Bus.ReleaseRequest(null, sandboxId, null, null);
    }

    /** Stops as on SIGTERM: reconcilers (Lease released), cache, history, client. */
    private boolean closed;

    @Override
    public void close() throws Exception {
      if (closed) {
        return;
      }
      closed = true;
      reconcilers.stop().await(10, TimeUnit.SECONDS);
      cache.stop().await(10, TimeUnit.SECONDS);
      history.close().await(10, TimeUnit.SECONDS);
      client.close();
      vertx.close().await(10, TimeUnit.SECONDS);
    }

    /** Dies without any cleanup, as on SIGKILL: the Lease stays until it expires. */
    void kill() throws Exception {
      closed = true;
      client.close();
      history.close().await(10, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  static SandboxTemplate template(String name, String idleImage, String image) {
    SandboxTemplate t = new SandboxTemplate();
    t.setMetadata(new ObjectMetaBuilder().withName(name).build());
    SandboxTemplateSpec spec = new SandboxTemplateSpec();
    spec.setVersion("v1");
    spec.setIdleImage(idleImage);
    spec.setTemplate(new PodTemplateSpecBuilder().withNewSpec().addNewContainer().withName("sandbox").withImage(image)
        .addNewPort().withName("http").withContainerPort(8080).endPort()
        .withNewResources().addToRequests("cpu", new io.fabric8.kubernetes.api.model.Quantity("250m"))
        .addToRequests("memory", new io.fabric8.kubernetes.api.model.Quantity("256Mi")).endResources()
        .endContainer().endSpec().build());
    t.setSpec(spec);
    return admin.resource(t).create();
  }

  static SandboxPool pool(String name, String templateName, int replicas, String defaultStartupTimeout) {
    SandboxPool p = new SandboxPool();
    p.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    SandboxPoolSpec spec = new SandboxPoolSpec();
    spec.setReplicas(replicas);
    spec.setTemplateName(templateName);
    spec.setDefaultStartupTimeout(defaultStartupTimeout);
    p.setSpec(spec);
    return admin.resource(p).create();
  }

  static SandboxPool getPool(String name) {
    return admin.resources(SandboxPool.class).inNamespace("default").withName(name).get();
  }

  static void scale(String pool, int replicas) {
    admin.resources(SandboxPool.class).inNamespace("default").withName(pool).scale(replicas);
  }

  static List<Pod> pods(String pool) {
    return admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, pool).list().getItems();
  }

  static Pod pod(String name) {
    return admin.pods().inNamespace("default").withName(name).get();
  }

  /** Waits until the pool's pods satisfy {@code condition}; returns them. */
  static List<Pod> awaitPods(String pool, String what, Predicate<List<Pod>> condition) {
    return await(what, Duration.ofSeconds(30), () -> {
      List<Pod> pods = pods(pool);
      return condition.test(pods) ? pods : null;
    });
  }

  static List<Pod> awaitIdleReady(String pool, int n) {
    return awaitPods(pool, n + " idle ready pods in " + pool, ps -> ps.size() == n
        && ps.stream().allMatch(p -> Pods.inPhase(p, sh.navix.agentbox.api.crd.SandboxPhase.IDLE) && Pods.ready(p) && !Pods.deleting(p)));
  }

  /** What the claim scheduler does: a compare-and-swap claim of an idle pod. */
  static Pod claim(Pod idle, String sandboxId, String image, Duration startupTimeout, Duration idleTimeout) {
    return claim(idle, sandboxId, image, startupTimeout, idleTimeout, List.of());
  }

  /** The same, with post-start hooks. */
  static Pod claim(Pod idle, String sandboxId, String image, Duration startupTimeout, Duration idleTimeout,
      List<sh.navix.agentbox.api.model.PostStartHookAction> hooks) {
    Pod claimed = PodTransitions.claim(idle, new PodTransitions.ClaimSpec(sandboxId,
        image == null ? Map.of() : Map.of("sandbox", image), Map.of("example.com/run", "r1"), Map.of("example.com/note", "n1"),
        Map.of("owner", "test"), startupTimeout, idleTimeout, hooks, "team-a", "alice", Instant.now()));
    return admin.pods().inNamespace("default").resource(claimed).update();
  }

  static Pod awaitPod(String name, String what, Predicate<Pod> condition) {
    return await(what, Duration.ofSeconds(30), () -> {
      Pod p = pod(name);
      return p != null && condition.test(p) ? p : null;
    });
  }

  static HttpResponse<String> http(String method, String url, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** An HTTP server on the cluster's Vert.x that plays the API server for what is sent to it. */
  static io.vertx.core.http.HttpServer fakeApiServer(io.vertx.core.Handler<io.vertx.core.http.HttpServerRequest> handler) throws Exception {
    return clusterVertx.createHttpServer().requestHandler(handler).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  /**
   * A leading process whose pod creates go to {@code server} instead of the API server while
   * {@code divert} says so (asked once per create): to play an API server that refuses, or
   * answers oddly.
   */
  static Process leadingWithPodCreatesTo(String identity, Path home, io.vertx.core.http.HttpServer server,
      java.util.function.BooleanSupplier divert, java.util.function.Consumer<ReconcilerOptions> tune) throws Exception {
    io.fabric8.kubernetes.client.http.Interceptor interceptor = new io.fabric8.kubernetes.client.http.Interceptor() {
      @Override
      public void before(io.fabric8.kubernetes.client.http.BasicBuilder builder, io.fabric8.kubernetes.client.http.HttpRequest request,
          RequestTags tags) {
        if ("POST".equals(request.method()) && request.uri().getPath().endsWith("/pods") && divert.getAsBoolean()) {
          builder.uri(URI.create("http://127.0.0.1:" + server.actualPort() + request.uri().getRawPath()));
        }
      }
    };
    return leading(new Process(identity, home, http -> http.addOrReplaceInterceptor("pod-creates", interceptor), tune));
  }

  /** True for the next {@code n.get()} asks, then false: to divert the first few creates only. */
  static java.util.function.BooleanSupplier firstOf(java.util.concurrent.atomic.AtomicInteger n) {
    return () -> n.getAndUpdate(left -> Math.max(0, left - 1)) > 0;
  }

  /** Takes the leader Lease away from {@code p} for an hour (held by a name no process has) and waits until it stands by. */
  static void standingBy(Process p) {
    sh.navix.agentbox.devcluster.Leases.takeOver(admin, "default", "agentbox-gateway-leader", "somebody-else", Duration.ofHours(1));
    await("the gateway stands by", Duration.ofSeconds(10), () -> !p.reconcilers.isLeader() ? true : null);
  }

  /** {@code p}, once it holds the leader Lease (a test class's only process gets it at once). */
  static Process leading(Process p) {
    await("leadership", Duration.ofSeconds(10), () -> p.reconcilers.isLeader() ? true : null);
    return p;
  }

  /** Polls {@code probe} until it returns non-null, failing after {@code timeout}. */
  static <T> T await(String what, Duration timeout, Supplier<T> probe) {
    return sh.navix.agentbox.devcluster.Await.until(what, timeout, probe);
  }
}
