package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/** Pods of namespace {@code default} changed from outside, as the cache tests make and change them. */
final class TestPods {
  static final String NS = "default";

  private TestPods() {}

  /** A dev cluster with a started cache on it, for tests of what the cache keeps from pod events. */
  record Fixture(Vertx vertx, DevCluster cluster, KubernetesClient client, ClusterCache cache) implements AutoCloseable {
    static Fixture start() throws Exception {
      Vertx vertx = Vertx.vertx();
      Bus.registerCodecs(vertx.eventBus());
      DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
      ClusterCache cache = ClusterCache.create(vertx, cluster.client(), null, Duration.ofMinutes(5));
      cache.start().await(30, TimeUnit.SECONDS);
      return new Fixture(vertx, cluster, cluster.client(), cache);
    }

    @Override
    public void close() throws Exception {
      cache.stop().await(10, TimeUnit.SECONDS);
      cluster.stop().await(60, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /**
   * {@code steps} random changes, from outside, to managed pods of pools pool-a and pool-b: creates
   * (idle or stopping, most held by the sandbox finalizer, some marked for scale-down), phase
   * changes, scale-down marks, readiness, deletions (held by the finalizer when there is one),
   * moves between pools or out of any, finalizers taken off. Returns the names of the pods that
   * may still exist.
   */
  static List<String> randomWalk(KubernetesClient client, Random random, int steps) {
    List<String> names = new ArrayList<>();
    for (int step = 0; step < steps; step++) {
      if (names.isEmpty() || random.nextInt(6) == 0) {
        String name = "pod-" + step;
        create(client, name, random.nextBoolean() ? "pool-a" : "pool-b", random.nextBoolean() ? SandboxPhase.IDLE : SandboxPhase.STOPPING,
            random.nextInt(5) > 0 ? Finalizers.SANDBOX_PROTECTION : null, random.nextInt(4) == 0);
        names.add(name);
        continue;
      }
      String name = names.get(random.nextInt(names.size()));
      try {
        switch (random.nextInt(6)) {
          case 0 -> phase(client, name, random.nextBoolean() ? SandboxPhase.IDLE.wire()
              : SandboxPhase.values()[random.nextInt(SandboxPhase.values().length)].wire());
          case 1 -> markForScaleDown(client, name, random.nextBoolean() ? "\"2026-12-06T00:00:00Z\"" : "null");
          case 2 -> ready(client, name, random.nextInt(3) > 0);
          case 3 -> client.pods().inNamespace(NS).withName(name).withGracePeriod(0).delete(); // held if it has the finalizer
          case 4 -> pool(client, name, random.nextInt(4) == 0 ? null : random.nextBoolean() ? "\"pool-a\"" : "\"pool-b\""); // moved, or no pool
          default -> release(client, name); // a pod held by the finalizer goes now; others carry on
        }
      } catch (KubernetesClientException e) {
        assertThat(e.getCode()).as("only a pod already gone may refuse a change").isEqualTo(404);
        names.remove(name);
      }
    }
    return names;
  }

  /** A managed pod of {@code pool} in {@code phase}, held by {@code finalizer} when not null, marked for scale-down when {@code marked}. */
  static void create(KubernetesClient client, String name, String pool, SandboxPhase phase, String finalizer, boolean marked) {
    Pod pod = new PodBuilder().withNewMetadata().withName(name).withNamespace(NS)
        .withLabels(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER, Labels.SANDBOX_POOL, pool, Labels.SANDBOX_PHASE, phase.wire()))
        .withAnnotations(marked ? Map.of(Annotations.SCALE_DOWN_PROTECTED, "2026-12-06T00:00:00Z") : Map.of())
        .withFinalizers(finalizer == null ? List.of() : List.of(finalizer))
        .endMetadata().withNewSpec().addNewContainer().withName("main").withImage("example/idle:1").endContainer().endSpec().build();
    client.pods().inNamespace(NS).resource(pod).create();
  }

  /** Moves the pod to pool {@code value} (a JSON string), or out of any ({@code null}). */
  static void pool(KubernetesClient client, String name, String value) {
    patch(client, name, "{\"metadata\":{\"labels\":{\"" + Labels.SANDBOX_POOL + "\":" + value + "}}}");
  }

  static void phase(KubernetesClient client, String name, String phase) {
    patch(client, name, "{\"metadata\":{\"labels\":{\"" + Labels.SANDBOX_PHASE + "\":\"" + phase + "\"}}}");
  }

  /** Marks the pod for scale-down with {@code value} (a JSON string), or unmarks it ({@code null}). */
  static void markForScaleDown(KubernetesClient client, String name, String value) {
    patch(client, name, "{\"metadata\":{\"annotations\":{\"" + Annotations.SCALE_DOWN_PROTECTED + "\":" + value + "}}}");
  }

  /** Takes every finalizer off: a pod being deleted goes now. */
  static void release(KubernetesClient client, String name) {
    patch(client, name, "{\"metadata\":{\"finalizers\":null}}");
  }

  static void ready(KubernetesClient client, String name, boolean ready) {
    client.pods().inNamespace(NS).withName(name).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"" + (ready ? "True" : "False") + "\"}]}}");
  }

  static void patch(KubernetesClient client, String name, String mergePatch) {
    client.pods().inNamespace(NS).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }
}
