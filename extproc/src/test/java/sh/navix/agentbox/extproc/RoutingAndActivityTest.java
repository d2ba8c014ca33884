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

/** The routing brain and the activity tracker against live sandboxes on the dev cluster. */
class RoutingAndActivityTest extends SandboxesOnDevCluster {
  static RouteDecision route(Map<String, String> headers, String host, String path) {
    return router.route(headers::get, host, path);
  }

  @Test
  void theThreeFormsReachThePod() {
    String ip = running.getStatus().getPodIP();
    assertThat(route(Map.of("x-sandbox-id", "sbxrun", "x-sandbox-port", "8888"), "gw.example", "/api?x=1"))
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8888, "/api?x=1"));
    assertThat(route(Map.of("e2b-sandbox-id", "sbxrun", "e2b-sandbox-port", "8080"), null, "/"))
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8080, "/"));
    assertThat(route(Map.of(), "8888-sbxrun.sandbox.localhost:8081", "/lab"))
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8888, "/lab"));
    assertThat(route(Map.of(), "sbxrun.sandbox.localhost", "/")).as("no port: the first runtime's")
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8080, "/"));
    assertThat(route(Map.of(), "localhost:8081", "/sandboxes/sbxrun/8080/whoami?a=b"))
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8080, "/whoami?a=b"));
    assertThat(route(Map.of(), "localhost:8081", "/sandboxes/sbxrun/8080"))
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8080, "/"));
    assertThat(route(Map.of(), "localhost:8081", "/sandboxes/sbxrun/8080?a=b"))
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8080, "/?a=b"));
    assertThat(route(Map.of(), "8080-SBXRUN.Sandbox.Localhost", "/")).as("host names are case-insensitive")
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8080, "/"));
    assertThat(route(Map.of(), "other.example", "/sandboxes/sbxrun/8888/x")).as("a host of another domain falls through to the path")
        .isEqualTo(new RouteDecision.Route("sbxrun", ip, 8888, "/x"));
  }

  @Test
  void malformedHostsAndPathsNameNoSandbox() {
    for (String host : new String[] {"a.sbxrun.sandbox.localhost", "x8080-sbxrun.sandbox.localhost", "123456-sbxrun.sandbox.localhost",
        "8080-.sandbox.localhost", "sandbox.localhost", ".sandbox.localhost", "sbxrun.sandbox.localhost.evil"}) {
      assertThat(route(Map.of(), host, "/")).as(host).extracting(d -> ((RouteDecision.Reject) d).status()).isEqualTo(404);
    }
    for (String path : new String[] {"/sandboxes/sbxrun/", "/sandboxes/sbxrun", "/sandboxes/sbxrun/http/x", "/sandboxes//8080/",
        "/sandboxes/SBX/8080/", "/sandboxes/sbxrun/123456/", "/sandbox/sbxrun/8080/"}) {
      assertThat(route(Map.of(), "localhost", path)).as(path).extracting(d -> ((RouteDecision.Reject) d).status()).isEqualTo(404);
    }
  }

  @Test
  void errorsSayWhy() {
    assertThat(route(Map.of(), "localhost", "/")).extracting(d -> ((RouteDecision.Reject) d).status()).isEqualTo(404);
    assertThat(route(Map.of("x-sandbox-id", "nosuchsandbox"), null, "/")).extracting(d -> ((RouteDecision.Reject) d).status()).isEqualTo(404);
    RouteDecision.Reject startingReject = (RouteDecision.Reject) route(Map.of("x-sandbox-id", "sbxstart"), null, "/");
    assertThat(startingReject.status()).isEqualTo(503);
    assertThat(startingReject.retryAfterSeconds()).isEqualTo(1);
    RouteDecision.Reject wrongPort = (RouteDecision.Reject) route(Map.of(), "22-sbxrun.sandbox.localhost", "/");
    assertThat(wrongPort.status()).isEqualTo(403);
    assertThat(wrongPort.body()).contains("port 22");
    assertThat(((RouteDecision.Reject) route(Map.of("x-sandbox-id", "Bad-Id"), null, "/")).status()).isEqualTo(400);
    assertThat(((RouteDecision.Reject) route(Map.of("x-sandbox-id", "sbxrun", "x-sandbox-port", "99999"), null, "/")).status()).isEqualTo(400);
  }

  @Test
  void aBurstOfRequestsCostsOneWritePerInterval() throws Exception {
    noFreshLastActive();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ActivityTracker tracker = new ActivityTracker(vertx, admin, cache, registry, Duration.ofMillis(100));
    tracker.start();
    try {
      // idle timeout 30 s → flush interval 10 s: 2.5 s of requests cost exactly one write.
      Instant start = Instant.now();
      long touches = 0;
      while (Duration.between(start, Instant.now()).toMillis() < 2500) {
        tracker.touch("sbxrun");
        touches++;
      }
      Instant end = Instant.now();
      Pod p = Await.until("last-active written", Duration.ofSeconds(5), () -> {
        Pod x = admin.pods().inNamespace("default").withName(running.getMetadata().getName()).get();
        return Pods.annotation(x, Annotations.LAST_ACTIVE) != null ? x : null;
      });
      double written = registry.get("agentbox_activity_writes_total").counter().count();
      assertThat(touches).isGreaterThan(10_000);
      assertThat(written).isEqualTo(1.0);
      Instant lastActive = Instant.parse(Pods.annotation(p, Annotations.LAST_ACTIVE));
      assertThat(lastActive).isBetween(start.minusSeconds(1), end.plusSeconds(1));
    } finally {
      tracker.stop();
    }
  }

  /**
   * Shortening a sandbox's idle timeout (PUT /timeout) brings its next last-active write forward:
   * the one planned for the old, longer interval would come after the new deadline.
   */
  @Test
  void aShorterIdleTimeoutBringsTheNextWriteForward() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ActivityTracker tracker = new ActivityTracker(vertx, admin, cache, registry, Duration.ofMillis(100));
    String name = running.getMetadata().getName();
    noFreshLastActive();
    tracker.start();
    try {
      tracker.touch("sbxrun"); // idle timeout 30 s: written now, the next write not before ~9 s
      Await.until("first write", Duration.ofSeconds(5), () -> registry.get("agentbox_activity_writes_total").counter().count() == 1 ? true : null);
      Instant firstSecond = Pods.time(admin.pods().inNamespace("default").withName(name).get(), Annotations.LAST_ACTIVE).orElseThrow();
      setAnnotations(name, Map.of(Annotations.IDLE_TIMEOUT, "3"));
      // Activity within the second already written would change nothing: the next comes in a later one.
      Await.until("a later second", Duration.ofSeconds(2), () -> Instant.now().isAfter(firstSecond.plusSeconds(1)) ? true : null);
      tracker.touch("sbxrun");
      // idle timeout 3 s → flush interval 1 s: written within a couple of seconds, not ~9 s later.
      Await.until("second write", Duration.ofSeconds(4), () -> registry.get("agentbox_activity_writes_total").counter().count() == 2 ? true : null);
    } finally {
      tracker.stop();
      // The other tests count writes at the 30 s timeout's interval: not before the cache has it back.
      setAnnotations(name, Map.of(Annotations.IDLE_TIMEOUT, "30"));
    }
  }

  /**
   * Two replicas that each see part of a sandbox's traffic: the second leaves its write out while
   * the first one's last-active is fresh, instead of writing the same news again, and writes once
   * the first one's next write was due and did not come: the WebSocket open through it is not lost.
   */
  @Test
  void aSecondReplicaLeavesItsWriteOutWhileTheFirstOnesIsFreshButNotItsActivity() throws Exception {
    String name = running.getMetadata().getName();
    // idle timeout 18 s → flush interval 6 s; a last-active 6 s old is not fresh (over 5.4 s) and far from its deadline.
    Instant old = Instant.now().minusSeconds(6).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    setAnnotations(name, Map.of(Annotations.IDLE_TIMEOUT, "18", Annotations.LAST_ACTIVE, old.toString()));
    SimpleMeterRegistry first = new SimpleMeterRegistry();
    SimpleMeterRegistry second = new SimpleMeterRegistry();
    ActivityTracker a = new ActivityTracker(vertx, admin, cache, first, Duration.ofMillis(100));
    ActivityTracker b = new ActivityTracker(vertx, admin, cache, second, Duration.ofMillis(100));
    a.start();
    b.start();
    try {
      Instant touched = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
      a.touch("sbxrun");
      Instant written = Await.until("the first replica's write in the cache", Duration.ofSeconds(5), () -> cache.podBySandboxId("sbxrun")
          .flatMap(p -> Pods.time(p, Annotations.LAST_ACTIVE)).filter(t -> !t.isBefore(touched)).orElse(null));
      assertThat(count(first, "agentbox_activity_writes_total")).isEqualTo(1);

      b.tunnelOpened("sbxrun"); // a WebSocket through the second replica: active from now on
      Await.until("the second replica leaves its write out", Duration.ofSeconds(5),
          () -> count(second, "agentbox_activity_writes_skipped_total") >= 1 ? true : null);
      assertThat(count(second, "agentbox_activity_writes_total")).isZero();
      assertThat(Pods.time(admin.pods().inNamespace("default").withName(name).get(), Annotations.LAST_ACTIVE)).contains(written);

      // The first replica's next write would be due 6 s after its last: the second looks 9 s after it.
      Instant later = Await.until("the second replica's write", Duration.ofSeconds(15), () -> count(second, "agentbox_activity_writes_total") == 1
          ? Pods.time(admin.pods().inNamespace("default").withName(name).get(), Annotations.LAST_ACTIVE).orElseThrow() : null);
      assertThat(later).isAfter(written);
      assertThat(count(first, "agentbox_activity_writes_total")).as("nothing new on the first replica").isEqualTo(1);
    } finally {
      a.stop();
      b.stop();
      b.tunnelClosed("sbxrun");
      setAnnotations(name, Map.of(Annotations.IDLE_TIMEOUT, "30"));
    }
  }

  /**
   * The running sandbox's last-active, as an earlier test may have left it, made 10 s old: with the
   * 30 s idle timeout (flush interval 10 s) no longer fresh (9 s), so a tracker's first write is not
   * left out as another replica's news.
   */
  private static void noFreshLastActive() {
    Instant aged = Instant.now().minusSeconds(10).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    setAnnotations(running.getMetadata().getName(), Map.of(Annotations.IDLE_TIMEOUT, "30", Annotations.LAST_ACTIVE, aged.toString()));
  }

  private static double count(SimpleMeterRegistry registry, String counter) {
    var c = registry.find(counter).counter();
    return c == null ? 0 : c.count();
  }

  /**
   * Sets annotations of the pod and waits until the cache shows them. A merge patch without a
   * resourceVersion: the simulated node and the trackers write the pod too.
   */
  private static void setAnnotations(String pod, Map<String, String> annotations) {
    admin.pods().inNamespace("default").withName(pod).patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
        io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE), sh.navix.agentbox.api.Json.encode(Map.of("metadata", Map.of("annotations", annotations))));
    Await.until("the cache sees " + annotations, Duration.ofSeconds(5), () -> cache.podBySandboxId("sbxrun")
        .map(p -> annotations.entrySet().stream().allMatch(e -> e.getValue().equals(Pods.annotation(p, e.getKey())))).orElse(false) ? true : null);
  }

  /** A last-active write that failed (API server unreachable) is tried again soon, not only after the next activity. */
  @Test
  void aFailedWriteIsTriedAgain() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (var unreachable = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(new io.fabric8.kubernetes.client.ConfigBuilder()
        .withMasterUrl("http://127.0.0.1:1").withRequestRetryBackoffLimit(0).withConnectionTimeout(1000).build()).build()) {
      noFreshLastActive();
      ActivityTracker tracker = new ActivityTracker(vertx, unreachable, cache, registry, Duration.ofMillis(100));
      tracker.start();
      try {
        tracker.touch("sbxrun"); // once: nothing new happens after it
        Await.until("the write tried again", Duration.ofSeconds(10),
            () -> registry.get("agentbox_activity_write_failures_total").counter().count() >= 2 ? true : null);
      } finally {
        tracker.stop();
      }
    }
  }
}
