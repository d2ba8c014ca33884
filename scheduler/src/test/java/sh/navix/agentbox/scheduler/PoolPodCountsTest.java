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
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.cache.PoolPodCounts;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * A pool's counts, which the pool status, the 409's detail and the pool views show, are kept
 * from pod events rather than counted over the pool's pods: after any mix of creates, phase
 * changes, scale-down marks, deletions held by a finalizer and deletions, they equal what a LIST
 * of the API server gives.
 */
class PoolPodCountsTest {
  private static final String NS = "default";
  private static final String HOLD = "bench.example/hold";

  @Test
  void countsFollowEveryKindOfPodChange() throws Exception {
    Vertx vertx = Vertx.vertx();
    Bus.registerCodecs(vertx.eventBus());
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    KubernetesClient client = cluster.client();
    ClusterCache cache = ClusterCache.create(vertx, client, null, Duration.ofMinutes(5));
    long seed = System.nanoTime();
    Random random = new Random(seed);
    try {
      cache.start().await(30, TimeUnit.SECONDS);
      List<String> names = new ArrayList<>();
      for (int step = 0; step < 400; step++) {
        if (names.isEmpty() || random.nextInt(6) == 0) {
          String name = "pod-" + step;
          create(client, name, random.nextBoolean() ? "pool-a" : "pool-b", random.nextInt(3) == 0);
          names.add(name);
          continue;
        }
        String name = names.get(random.nextInt(names.size()));
        try {
          switch (random.nextInt(6)) {
            case 0 -> label(client, name, SandboxPhase.values()[random.nextInt(SandboxPhase.values().length)].wire());
            case 1 -> annotate(client, name, random.nextBoolean() ? "\"2026-12-06T00:00:00Z\"" : "null");
            case 2 -> ready(client, name, random.nextBoolean());
            case 3 -> client.pods().inNamespace(NS).withName(name).withGracePeriod(0).delete(); // held if it has the finalizer
            case 4 -> pool(client, name, random.nextInt(4) == 0 ? null : random.nextBoolean() ? "\"pool-a\"" : "\"pool-b\""); // moved, or no pool
            default -> {
              release(client, name); // a pod held by the finalizer goes now; others carry on
            }
          }
        } catch (KubernetesClientException e) {
          assertThat(e.getCode()).as("only a pod already gone may refuse a change").isEqualTo(404);
          names.remove(name);
        }
      }
      for (String pool : List.of("pool-a", "pool-b")) {
        PoolPodCounts listed = Await.until("the cache's counts of " + pool + " to match a LIST (seed " + seed + ")", Duration.ofSeconds(20), () -> {
          PoolPodCounts fromList = PoolPodCounts.of(client.pods().inNamespace(NS).withLabel(Labels.SANDBOX_POOL, pool).list().getItems());
          return fromList.equals(cache.podCounts(NS, pool)) ? fromList : null;
        });
        assertThat(listed).as("counts from the pods in the cache's store, seed " + seed).isEqualTo(PoolPodCounts.of(cache.pods(NS, pool)));
      }
      PoolPodCounts a = cache.podCounts(NS, "pool-a"), b = cache.podCounts(NS, "pool-b");
      assertThat(a.present() + a.failed() + a.deleting() + b.present() + b.failed() + b.deleting())
          .as("the walk left pods to count").isPositive();
      assertThat(cache.podCounts(NS, "no-such-pool")).isEqualTo(PoolPodCounts.NONE);

      // Every pod gone: nothing counted.
      for (String name : names) {
        client.pods().inNamespace(NS).withName(name).withGracePeriod(0).delete();
        try {
          release(client, name);
        } catch (KubernetesClientException e) {
          assertThat(e.getCode()).as("only a pod already gone may refuse a change").isEqualTo(404);
        }
      }
      Await.until("no pods counted", Duration.ofSeconds(20),
          () -> cache.podCounts(NS, "pool-a").equals(PoolPodCounts.NONE) && cache.podCounts(NS, "pool-b").equals(PoolPodCounts.NONE) ? true : null);
    } finally {
      cache.stop().await(10, TimeUnit.SECONDS);
      cluster.stop().await(60, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** What each kind of pod counts as: the same rules as the pool status has always had. */
  @Test
  void whatEachPodCountsAs() {
    assertThat(PoolPodCounts.of(List.of(
        pod(SandboxPhase.IDLE, true, false, false), pod(SandboxPhase.IDLE, false, false, false), pod(SandboxPhase.IDLE, true, true, false),
        pod(SandboxPhase.STARTING, false, true, false), pod(SandboxPhase.RUNNING, true, false, false), pod(SandboxPhase.STOPPING, true, false, false),
        pod(SandboxPhase.FAILED, false, true, false), pod(SandboxPhase.RUNNING, true, true, true), pod(null, true, false, false))))
        .as("idle, unavailable idle, starting, running, stopping, failed, deleting, scale-down marked")
        .isEqualTo(new PoolPodCounts(3, 1, 1, 1, 1, 1, 1, 2));
    assertThat(PoolPodCounts.of(List.of(pod(SandboxPhase.IDLE, true, false, false), pod(SandboxPhase.RUNNING, true, false, false))).present())
        .isEqualTo(2);
  }

  private static Pod pod(SandboxPhase phase, boolean ready, boolean marked, boolean deleting) {
    PodBuilder b = new PodBuilder().withNewMetadata().withName("p").withNamespace(NS)
        .withLabels(phase == null ? Map.of(Labels.SANDBOX_POOL, "pool-a") : Map.of(Labels.SANDBOX_POOL, "pool-a", Labels.SANDBOX_PHASE, phase.wire()))
        .withAnnotations(marked ? Map.of(Annotations.SCALE_DOWN_PROTECTED, "2026-12-06T00:00:00Z") : Map.of())
        .withDeletionTimestamp(deleting ? "2026-12-06T00:00:00Z" : null)
        .endMetadata()
        .withNewStatus().addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition().endStatus();
    return b.build();
  }

  private static void create(KubernetesClient client, String name, String pool, boolean held) {
    Pod pod = new PodBuilder().withNewMetadata().withName(name).withNamespace(NS)
        .withLabels(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER, Labels.SANDBOX_POOL, pool,
            Labels.SANDBOX_PHASE, SandboxPhase.IDLE.wire()))
        .withFinalizers(held ? List.of(HOLD) : List.of())
        .endMetadata().withNewSpec().addNewContainer().withName("main").withImage("example/idle:1").endContainer().endSpec().build();
    client.pods().inNamespace(NS).resource(pod).create();
  }

  private static void pool(KubernetesClient client, String name, String value) {
    patch(client, name, "{\"metadata\":{\"labels\":{\"" + Labels.SANDBOX_POOL + "\":" + value + "}}}");
  }

  private static void label(KubernetesClient client, String name, String phase) {
    patch(client, name, "{\"metadata\":{\"labels\":{\"" + Labels.SANDBOX_PHASE + "\":\"" + phase + "\"}}}");
  }

  private static void annotate(KubernetesClient client, String name, String value) {
    patch(client, name, "{\"metadata\":{\"annotations\":{\"" + Annotations.SCALE_DOWN_PROTECTED + "\":" + value + "}}}");
  }

  private static void release(KubernetesClient client, String name) {
    patch(client, name, "{\"metadata\":{\"finalizers\":null}}");
  }

  private static void ready(KubernetesClient client, String name, boolean ready) {
    client.pods().inNamespace(NS).withName(name).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"" + (ready ? "True" : "False") + "\"}]}}");
  }

  private static void patch(KubernetesClient client, String name, String mergePatch) {
    client.pods().inNamespace(NS).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }
}
