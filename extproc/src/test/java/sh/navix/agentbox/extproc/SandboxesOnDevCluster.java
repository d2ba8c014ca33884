package sh.navix.agentbox.extproc;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolSpec;
import sh.navix.agentbox.api.crd.SandboxRuntimeSpec;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.extproc.activity.ActivityTracker;
import sh.navix.agentbox.extproc.routing.RouteDecision;
import sh.navix.agentbox.extproc.routing.SandboxRouter;
import sh.navix.agentbox.reconciler.ReconcilerOptions;
import sh.navix.agentbox.reconciler.Reconcilers;
import sh.navix.agentbox.reconciler.history.H2HistoryStore;

/** A dev cluster with a pool "web" (runtimes 8080 and 8888), one running sandbox "sbxrun" and one starting "sbxstart". */
abstract class SandboxesOnDevCluster {
  @TempDir static Path home;
  static Vertx vertx;
  static DevCluster cluster;
  static KubernetesClient admin;
  static ClusterCache cache;
  static Reconcilers reconcilers;
  static SandboxRouter router;
  static Pod running;
  static Pod starting;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    Bus.registerCodecs(vertx.eventBus());
    cluster = DevCluster.start(vertx, new DevClusterOptions().setPullDelay(Duration.ofMillis(100))).await(30, TimeUnit.SECONDS);
    admin = cluster.client();
    cache = ClusterCache.create(vertx, admin, null, Duration.ofMinutes(5));
    cache.start().await(30, TimeUnit.SECONDS);
    ReconcilerOptions o = new ReconcilerOptions();
    o.identity = "routing-test";
    o.tick = Duration.ofMillis(100);
    reconcilers = Reconcilers.start(vertx, admin, cache, H2HistoryStore.open(vertx, home.resolve("h"), Duration.ZERO).await(10, TimeUnit.SECONDS),
        new SimpleMeterRegistry(), o).await(10, TimeUnit.SECONDS);

    SandboxPool pool = new SandboxPool();
    pool.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("default").build());
    SandboxPoolSpec spec = new SandboxPoolSpec();
    spec.setReplicas(2);
    spec.setIdleImage("example/idle:1");
    SandboxRuntimeSpec http = new SandboxRuntimeSpec();
    http.setName("http");
    http.setPort(8080);
    SandboxRuntimeSpec jupyter = new SandboxRuntimeSpec();
    jupyter.setName("jupyter");
    jupyter.setPort(8888);
    spec.setRuntimes(List.of(http, jupyter));
    spec.setTemplate(new PodTemplateSpecBuilder().withNewSpec().addNewContainer().withName("sandbox").withImage("example/sandbox:1")
        .addNewPort().withContainerPort(8080).endPort().addNewPort().withContainerPort(8888).endPort().endContainer().endSpec().build());
    pool.setSpec(spec);
    admin.resource(pool).create();
    List<Pod> idle = Await.until("2 idle pods in the cache", Duration.ofSeconds(30), () -> {
      List<Pod> l = cache.pods("default", "web", SandboxPhase.IDLE).stream().filter(Pods::claimable).toList();
      return l.size() == 2 ? l : null;
    });
    claim(idle.get(0), "sbxrun", "example/sandbox:2", Duration.ofSeconds(30));
    claim(idle.get(1), "sbxstart", "example/slow-pull:1", null);
    running = Await.until("running in cache", Duration.ofSeconds(30), () -> cache.podBySandboxId("sbxrun")
        .filter(p -> Pods.inPhase(p, SandboxPhase.RUNNING)).orElse(null));
    starting = Await.until("starting in cache", Duration.ofSeconds(30), () -> cache.podBySandboxId("sbxstart")
        .filter(p -> Pods.inPhase(p, SandboxPhase.STARTING)).orElse(null));
    router = new SandboxRouter(cache, "sandbox.localhost");
  }

  static void claim(Pod idle, String id, String image, Duration idleTimeout) {
    admin.pods().inNamespace("default").resource(PodTransitions.claim(idle, new PodTransitions.ClaimSpec(id, Map.of("sandbox", image),
        null, null, null, Duration.ofMinutes(10), idleTimeout, null, null, null, Instant.now()))).update();
  }

  @AfterAll
  static void stop() throws Exception {
    reconcilers.stop().await(10, TimeUnit.SECONDS);
    cache.stop().await(10, TimeUnit.SECONDS);
    cluster.stop().await(30, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

}
