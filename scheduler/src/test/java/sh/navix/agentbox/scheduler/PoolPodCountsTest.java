package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.cache.PoolPodCounts;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.devcluster.Await;

/**
 * A pool's counts, which the pool status, the 409's detail and the pool views show, are kept
 * from pod events rather than counted over the pool's pods: after any mix of creates, phase
 * changes, scale-down marks, deletions held by a finalizer and deletions, they equal what a LIST
 * of the API server gives.
 */
class PoolPodCountsTest {
  private static final String NS = "default";

  @Test
  void countsFollowEveryKindOfPodChange() throws Exception {
    long seed = System.nanoTime();
    try (TestPods.Fixture f = TestPods.Fixture.start()) {
      KubernetesClient client = f.client();
      ClusterCache cache = f.cache();
      List<String> names = TestPods.randomWalk(client, new Random(seed), 400);
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
          TestPods.release(client, name);
        } catch (KubernetesClientException e) {
          assertThat(e.getCode()).as("only a pod already gone may refuse a change").isEqualTo(404);
        }
      }
      Await.until("no pods counted", Duration.ofSeconds(20),
          () -> cache.podCounts(NS, "pool-a").equals(PoolPodCounts.NONE) && cache.podCounts(NS, "pool-b").equals(PoolPodCounts.NONE) ? true : null);
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
}
