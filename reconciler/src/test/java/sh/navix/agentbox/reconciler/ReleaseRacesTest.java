package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Vertx;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
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
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.Sandbox;

/** Releases that race with other writes of the pod. Here no replica leads (the Lease is held elsewhere). */
class ReleaseRacesTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;
  static List<Pod> fan;
  static Pod lag;

  @BeforeAll
  static void startGateway() throws Exception {
    template("fan", "example/idle:1", "example/sandbox:1");
    template("lag", "example/idle:1", "example/sandbox:1");
    gateway = leading(new Process("gw-release", home.resolve("gw")));
    // The pools fill while the gateway leads; each test then takes the Lease away.
    pool("fan", "fan", 2, null);
    pool("lag", "lag", 1, null);
    fan = awaitIdleReady("fan", 2);
    lag = awaitIdleReady("lag", 1).get(0);
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
  }

  /**
   * A sandbox held by two pods (two replicas claimed for one key at once) and released before the
   * leader resolved it: the release ends it on both pods, and answers with the pod it lived on
   * (the one claimed first), as in the moment before the leader's duplicate check.
   */
  @Test
  void aReleaseEndsTheSandboxOnEveryPodHoldingIt() throws Exception {
    standingBy(gateway);

    Pod first = claimAt(Pods.name(fan.get(1)), Instant.now().minusSeconds(5));
    Pod second = claimAt(Pods.name(fan.get(0)), Instant.now());
    await("both claims in the cache", Duration.ofSeconds(10),
        () -> gateway.cache.podsBySandboxId("sbxfan1").size() == 2 ? true : null);

    Sandbox answer = (Sandbox) gateway.vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxfan1")).await(10, TimeUnit.SECONDS).body();
    assertThat(answer.podName()).as("the pod the sandbox lived on").isEqualTo(Pods.name(first));
    for (Pod p : List.of(first, second)) {
      Pod now = awaitPod(Pods.name(p), "released", x -> Pods.inPhase(x, SandboxPhase.STOPPING));
      // Released before it ran (nobody leads to mark it running): Canceled, as the reference has it.
      assertThat(Pods.annotation(now, Annotations.STOP_REASON)).isEqualTo("Canceled");
    }
  }

  /** A claim as a replica makes it, again on a 409 (the simulated kubelet may be writing the pod's status). */
  static Pod claimAt(String name, Instant at) {
    return await("pod " + name + " claimed", Duration.ofSeconds(10), () -> {
      try {
        return admin.pods().inNamespace("default").resource(PodTransitions.claim(pod(name), new PodTransitions.ClaimSpec("sbxfan1",
            Map.of("sandbox", "example/sandbox:2"), null, null, null, Duration.ofMinutes(2), null, null, null, null, at))).update();
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() == 409) {
          return null;
        }
        throw e;
      }
    });
  }

  /**
   * A release whose first write loses to a change the cache has not shown yet, and does not show
   * for longer than the release waits for it (a cache lagging behind a burst of claims, as the
   * claims bench met on 2026-12-06: DELETEs answered 503 after every attempt lost on the same
   * stale version). The release reads the pod from the API server then, and goes through.
   */
  @Test
  void aReleaseTheCacheLeftBehindReadsThePodFromTheApiServer() throws Exception {
    // Nobody leads: no reconciler writes the pod meanwhile.
    standingBy(gateway);
    Pod claimed = claim(pod(Pods.name(lag)), "sbxlag1", null, Duration.ofMinutes(2), null); // no image swap: the kubelet has nothing to write
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
      var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
      Lifecycle lifecycle = new Lifecycle(lagging, new PodWriter(vertx, gateway.client, registry, new ReconcilerOptions().maxWritesInFlight), gateway.history, Clock.systemUTC(), registry);
      vertx.deployVerticle(new ReleaseVerticle(lifecycle)).await(10, TimeUnit.SECONDS);
      Sandbox answer = (Sandbox) vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxlag1")).await(20, TimeUnit.SECONDS).body();
      assertThat(answer.podName()).isEqualTo(Pods.name(stale));
      assertThat(answer.status()).isEqualTo(sh.navix.agentbox.api.model.SandboxStatus.STOPPING);
      assertThat(registry.counter("agentbox_kube_writes_total", "verb", "update", "outcome", "conflict").count())
          .as("the write on the cache's copy lost, the one on the API server's did not").isEqualTo(1.0);
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
