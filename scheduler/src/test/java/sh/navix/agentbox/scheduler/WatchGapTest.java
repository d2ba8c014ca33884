package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.ApiHop;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * The cache's watches drop (the API server ends them every few minutes, or goes away): for a
 * short gap the process still counts as synced (readiness, gRPC health), then no longer; the
 * cache stays populated throughout, and catches up when the API server is back.
 */
class WatchGapTest {
  @Test
  void aDroppedWatchIsToleratedForTheGraceThenReported() throws Exception {
    try (Gateway g = Gateway.start(new DevClusterOptions(), Duration.ofSeconds(4))) {
      assertThat(g.cache.synced()).isTrue();
      assertThat(g.cache.watching()).isTrue();

      g.cut();
      Await.until("a watch down", Duration.ofSeconds(20), () -> g.cache.watching() ? null : true);
      assertThat(g.cache.synced()).as("within the grace, a dropped watch is a reconnect, not an outage").isTrue();
      assertThat(g.cache.populated()).isTrue();
      Await.until("not synced once the grace is over", Duration.ofSeconds(20), () -> g.cache.synced() ? null : true);
      assertThat(g.cache.watching()).isFalse();
      assertThat(g.cache.populated()).as("the cache keeps what it had").isTrue();
    }
  }

  /**
   * While the cache could not reach the API server, more pods were deleted than the API server
   * remembers for watches that resume (a real one: its watch cache). Its resumed watch is answered
   * 410 Gone, and the cache lists again: it ends with exactly the pods there are, none of the
   * deleted ones left behind as idle pods a claim would pick.
   */
  @Test
  void aCacheThatMissedMoreDeletionsThanTheApiServerKeptListsAgain() throws Exception {
    try (Gateway g = Gateway.start(new DevClusterOptions().setWatchHistory(3), Duration.ofMinutes(1))) {
      KubernetesClient admin = g.cluster.client();
      List<String> names = IntStream.range(0, 8).mapToObj(i -> "gap-" + i).toList();
      names.forEach(n -> TestPods.create(admin, n, "pool-a", SandboxPhase.IDLE, null, false));
      Await.until("8 pods in the cache", Duration.ofSeconds(20), () -> g.podsOfPoolA().size() == 8 ? true : null);

      g.cut();
      Await.until("the watches down", Duration.ofSeconds(20), () -> g.cache.watching() ? null : true);
      names.subList(0, 6).forEach(n -> admin.pods().inNamespace(TestPods.NS).withName(n).withGracePeriod(0).delete());
      TestPods.create(admin, "gap-new", "pool-a", SandboxPhase.IDLE, null, false);
      g.restore();

      Await.until("the cache shows the pods there are", Duration.ofSeconds(30),
          () -> g.podsOfPoolA().equals(Set.of("gap-6", "gap-7", "gap-new")) ? true : null);
      Await.until("watching again", Duration.ofSeconds(20), () -> g.cache.watching() ? true : null);
      assertThat(g.cache.podCounts(TestPods.NS, "pool-a").idle()).isEqualTo(3);
    }
  }

  /** A cache reaching the dev cluster's API server through a hop that can be cut and restored. */
  private record Gateway(Vertx vertx, DevCluster cluster, ApiHop hop, KubernetesClient client, ClusterCache cache) implements AutoCloseable {
    static Gateway start(DevClusterOptions options, Duration watchGapGrace) throws Exception {
      Vertx vertx = Vertx.vertx();
      Bus.registerCodecs(vertx.eventBus());
      DevCluster cluster = DevCluster.start(vertx, options.setApiPort(0)).await(60, TimeUnit.SECONDS);
      ApiHop hop = ApiHop.start(vertx, cluster).await(10, TimeUnit.SECONDS);
      Config config = new ConfigBuilder().withMasterUrl(hop.masterUrl()).withRequestTimeout(5_000).withWatchReconnectInterval(100).build();
      KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
      ClusterCache cache = ClusterCache.create(vertx, client, null, Duration.ofMinutes(5), watchGapGrace);
      cache.start().await(30, TimeUnit.SECONDS);
      return new Gateway(vertx, cluster, hop, client, cache);
    }

    void cut() throws Exception {
      hop.down(true).await(10, TimeUnit.SECONDS);
    }

    void restore() throws Exception {
      hop.up().await(10, TimeUnit.SECONDS);
    }

    Set<String> podsOfPoolA() {
      return Set.copyOf(cache.pods(TestPods.NS, "pool-a").stream().map(Pods::name).toList());
    }

    @Override
    public void close() throws Exception {
      cache.stop().await(10, TimeUnit.SECONDS);
      client.close();
      hop.close().await(10, TimeUnit.SECONDS);
      cluster.stop().await(60, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
