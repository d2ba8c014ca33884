package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * What a claim picks from: the cache hands out a pool's pods in one phase one at a time from a
 * random start, each once, and follows pods that change phase or go away.
 */
class IdlePodsFromRandomStartTest {
  @Test
  void everyPodOfThePhaseOnceFromVaryingStarts() throws Exception {
    Vertx vertx = Vertx.vertx();
    Bus.registerCodecs(vertx.eventBus());
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    KubernetesClient client = cluster.client();
    ClusterCache cache = ClusterCache.create(vertx, client, null, Duration.ofMinutes(5));
    try {
      cache.start().await(30, TimeUnit.SECONDS);
      List<String> idle = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        idle.add(create(client, "idle-" + i, "pool-a", SandboxPhase.IDLE));
      }
      create(client, "running-0", "pool-a", SandboxPhase.RUNNING);
      create(client, "other-pool-0", "pool-b", SandboxPhase.IDLE);
      Await.until("20 idle pods in the cache", Duration.ofSeconds(20), () -> names(cache, SandboxPhase.IDLE).size() == 20 ? true : null);
      assertThat(names(cache, SandboxPhase.IDLE)).as("each idle pod of the pool once, no other").containsExactlyInAnyOrderElementsOf(idle);

      // Five start: they leave the idle pods and show among the starting ones; two idle pods go away.
      List<String> started = idle.subList(0, 5);
      started.forEach(n -> client.pods().inNamespace("default").withName(n).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"labels\":{\"" + Labels.SANDBOX_PHASE + "\":\"" + SandboxPhase.STARTING.wire() + "\"}}}"));
      List<String> deleted = idle.subList(5, 7);
      deleted.forEach(n -> client.pods().inNamespace("default").withName(n).withGracePeriod(0).delete());
      Await.until("13 idle pods left", Duration.ofSeconds(20), () -> names(cache, SandboxPhase.IDLE).size() == 13 ? true : null);
      assertThat(names(cache, SandboxPhase.IDLE)).containsExactlyInAnyOrderElementsOf(idle.subList(7, 20));
      Await.until("5 starting", Duration.ofSeconds(20), () -> names(cache, SandboxPhase.STARTING).size() == 5 ? true : null);
      assertThat(names(cache, SandboxPhase.STARTING)).containsExactlyInAnyOrderElementsOf(started);

      // Replicas picking at once should rarely land on the same pod: the first one handed out varies.
      Set<String> firsts = new HashSet<>();
      IntStream.range(0, 50).forEach(i -> firsts.add(cache.podsFromRandomStart("default", "pool-a", SandboxPhase.IDLE)
          .iterator().next().getMetadata().getName()));
      assertThat(firsts).hasSizeGreaterThan(1);
    } finally {
      cache.stop().await(10, TimeUnit.SECONDS);
      cluster.stop().await(60, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static List<String> names(ClusterCache cache, SandboxPhase phase) {
    return StreamSupport.stream(cache.podsFromRandomStart("default", "pool-a", phase).spliterator(), false)
        .map(p -> p.getMetadata().getName()).toList();
  }

  private static String create(KubernetesClient client, String name, String pool, SandboxPhase phase) {
    Pod pod = new PodBuilder().withNewMetadata().withName(name).withNamespace("default")
        .withLabels(Map.of(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER, Labels.SANDBOX_POOL, pool,
            Labels.SANDBOX_PHASE, phase.wire()))
        .endMetadata().withNewSpec().addNewContainer().withName("main").withImage("example/idle:1").endContainer().endSpec().build();
    client.pods().inNamespace("default").resource(pod).create();
    return name;
  }
}
