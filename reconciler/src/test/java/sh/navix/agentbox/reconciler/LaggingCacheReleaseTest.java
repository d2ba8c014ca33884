package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Vertx;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.Sandbox;

/**
 * A release whose first write loses to a change the cache has not shown yet, and does not show
 * for longer than the release waits for it (a cache lagging behind a burst of claims, as the
 * claims bench met on 2026-12-06: DELETEs answered 503 after every attempt lost on the same stale
 * version). The release reads the pod from the API server then, and goes through.
 */
class LaggingCacheReleaseTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;

  @BeforeAll
  static void startGateway() throws Exception {
    template("lag", "example/idle:1", "example/sandbox:1");
    gateway = leading(new Process("gw-lag", home.resolve("gw")));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
  }

  @Test
  void aReleaseTheCacheLeftBehindReadsThePodFromTheApiServer() throws Exception {
    pool("lag", "lag", 1, null);
    Pod idle = awaitIdleReady("lag", 1).get(0);
    // Nobody leads: no reconciler writes the pod meanwhile.
    standingBy(gateway);
    Pod claimed = claim(idle, "sbxlag1", null, Duration.ofMinutes(2), null); // no image swap: the kubelet has nothing to write
    await("the claim in the cache", Duration.ofSeconds(10), () -> gateway.cache.podBySandboxId("sbxlag1")
        .filter(p -> p.getMetadata().getResourceVersion().equals(claimed.getMetadata().getResourceVersion())).orElse(null));

    // The release sees the pod only as the cache held it at the claim: another writer's change
    // after that never shows in it.
    Pod stale = gateway.cache.podBySandboxId("sbxlag1").orElseThrow();
    ClusterCache lagging = frozen(gateway.cache, stale);
    Pod changed = admin.pods().inNamespace("default").withName(Pods.name(stale))
        .edit(p -> {
          p.getMetadata().getAnnotations().put("example.com/touched", "yes");
          return p;
        });
    assertThat(changed.getMetadata().getResourceVersion()).isNotEqualTo(stale.getMetadata().getResourceVersion());

    Vertx vertx = Vertx.vertx();
    try {
      Bus.registerCodecs(vertx.eventBus());
      Lifecycle lifecycle = new Lifecycle(lagging, new PodWriter(vertx, gateway.client, gateway.registry), gateway.history, Clock.systemUTC(),
          gateway.registry);
      vertx.deployVerticle(new ReleaseVerticle(lifecycle)).await(10, TimeUnit.SECONDS);
      Sandbox answer = (Sandbox) vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxlag1")).await(20, TimeUnit.SECONDS).body();
      assertThat(answer.podName()).isEqualTo(Pods.name(stale));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
    Pod released = pod(Pods.name(stale));
    assertThat(Pods.phase(released)).contains(SandboxPhase.STOPPING);
    assertThat(Pods.annotation(released, Annotations.STOP_REASON)).isEqualTo("Canceled");
    assertThat(released.getMetadata().getAnnotations()).as("the other writer's change, kept").containsEntry("example.com/touched", "yes");
  }

  /** {@code cache}, except that it shows {@code pod} as it is now for good. */
  static ClusterCache frozen(ClusterCache cache, Pod pod) {
    return (ClusterCache) Proxy.newProxyInstance(ClusterCache.class.getClassLoader(), new Class<?>[] {ClusterCache.class}, (proxy, m, args) -> {
      if (m.getName().equals("pod") && args.length == 2 && Pods.name(pod).equals(args[1])) {
        return Optional.of(pod);
      }
      if (m.getName().equals("podsBySandboxId") && Pods.sandboxId(pod).equals(args[0])) {
        return List.of(pod);
      }
      try {
        return m.invoke(cache, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    });
  }
}
