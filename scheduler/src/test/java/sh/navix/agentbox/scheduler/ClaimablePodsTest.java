package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.Await;

/**
 * What a claim picks from: the cache hands out exactly the pool's claimable pods (idle, Ready, not
 * being deleted, protected), each once, from a random start, those not marked for scale-down
 * first; and it follows every kind of pod change: phase, readiness, scale-down marks, deletions
 * held by the finalizer, deletions, moves between pools.
 */
class ClaimablePodsTest {
  private static final String NS = "default";

  @Test
  void exactlyTheClaimablePodsEachOnceUnmarkedFirstAfterAnyChanges() throws Exception {
    long seed = System.nanoTime();
    try (TestPods.Fixture f = TestPods.Fixture.start()) {
      KubernetesClient client = f.client();
      ClusterCache cache = f.cache();
      TestPods.randomWalk(client, new Random(seed), 400);
      // Fresh pods that are surely claimable (the simulated node reports them Ready too), so that
      // the order and the starts have something to show.
      List<String> fresh = IntStream.range(0, 6).mapToObj(i -> "fresh-" + i).toList();
      for (int i = 0; i < fresh.size(); i++) {
        TestPods.create(client, fresh.get(i), "pool-a", SandboxPhase.IDLE, Finalizers.SANDBOX_PROTECTION, i >= 4);
        TestPods.ready(client, fresh.get(i), true);
      }
      Await.until("the fresh pods claimable", Duration.ofSeconds(20), () -> client.pods().inNamespace(NS).withLabel(Labels.SANDBOX_POOL, "pool-a")
          .list().getItems().stream().filter(p -> Pods.claimable(p) && fresh.contains(Pods.name(p))).count() == fresh.size() ? true : null);
      for (String pool : List.of("pool-a", "pool-b")) {
        // The cache against a LIST, at a moment when they agree and the fresh pods are claimable in
        // both: the simulated node may still be reporting, and a fresh pod's container, started
        // after the test marked it Ready, reads not Ready for a moment.
        List<Object> agreed = Await.until("the cache's claimable pods of " + pool + " to match a LIST (seed " + seed + ")", Duration.ofSeconds(20), () -> {
          List<Pod> truth = client.pods().inNamespace(NS).withLabel(Labels.SANDBOX_POOL, pool).list().getItems().stream().filter(Pods::claimable).toList();
          List<String> seen = names(cache, pool);
          boolean freshIn = !pool.equals("pool-a") || truth.stream().map(Pods::name).toList().containsAll(fresh);
          return freshIn && seen.size() == truth.size() && new HashSet<>(seen).equals(new HashSet<>(truth.stream().map(Pods::name).toList()))
              ? List.of(truth, seen) : null;
        });
        @SuppressWarnings("unchecked")
        List<Pod> truth = (List<Pod>) agreed.get(0);
        @SuppressWarnings("unchecked")
        List<String> seen = (List<String>) agreed.get(1);
        assertThat(seen).as("each claimable pod once, seed " + seed).doesNotHaveDuplicates();
        Set<String> marked = new HashSet<>(truth.stream().filter(p -> Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) != null).map(Pods::name).toList());
        int unmarked = truth.size() - marked.size();
        assertThat(seen.subList(0, unmarked)).as("the pods not marked for scale-down first, seed " + seed).noneMatch(marked::contains);
        if (pool.equals("pool-a")) {
          // (The fresh pods are among them: the wait above asks for it.)
          assertThat(marked).as("two of the fresh pods marked").contains("fresh-4", "fresh-5");
        }
      }
      assertThat(cache.claimablePods(NS, "no-such-pool")).isEmpty();

      // Replicas picking at once should rarely land on the same pod: the first one handed out varies.
      Set<String> firsts = new HashSet<>();
      IntStream.range(0, 50).forEach(i -> firsts.add(Pods.name(cache.claimablePods(NS, "pool-a").iterator().next())));
      assertThat(firsts).hasSizeGreaterThan(1);

      // A claimed pod and a pod being deleted leave at once; a pod marked for scale-down goes behind the others.
      TestPods.phase(client, "fresh-0", SandboxPhase.STARTING.wire());
      client.pods().inNamespace(NS).withName("fresh-1").withGracePeriod(0).delete(); // held by the finalizer
      TestPods.markForScaleDown(client, "fresh-2", "\"2026-12-06T00:00:00Z\"");
      Await.until("fresh-0 and fresh-1 gone, fresh-2 behind fresh-3", Duration.ofSeconds(20), () -> {
        List<String> now = names(cache, "pool-a");
        return !now.contains("fresh-0") && !now.contains("fresh-1") && now.indexOf("fresh-3") >= 0 && now.indexOf("fresh-3") < now.indexOf("fresh-2") ? true : null;
      });
      TestPods.markForScaleDown(client, "fresh-4", "null");
      Await.until("fresh-4 ahead of fresh-5 once unmarked", Duration.ofSeconds(20), () -> {
        List<String> now = names(cache, "pool-a");
        return now.indexOf("fresh-4") >= 0 && now.indexOf("fresh-4") < now.indexOf("fresh-5") ? true : null;
      });
    }
  }

  private static List<String> names(ClusterCache cache, String pool) {
    return StreamSupport.stream(cache.claimablePods(NS, pool).spliterator(), false).map(Pods::name).toList();
  }
}
