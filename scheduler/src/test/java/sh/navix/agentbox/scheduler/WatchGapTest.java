package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;

/**
 * The cache's watches drop (the API server ends them every few minutes, or goes away): for a
 * short gap the process still counts as synced (readiness, gRPC health), then no longer; the
 * cache stays populated throughout.
 */
class WatchGapTest {
  @Test
  void aDroppedWatchIsToleratedForTheGraceThenReported() throws Exception {
    Vertx vertx = Vertx.vertx();
    DevCluster cluster = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0)).await(60, TimeUnit.SECONDS);
    Set<NetSocket> open = ConcurrentHashMap.newKeySet();
    URI api = URI.create(cluster.masterUrl());
    var to = vertx.createNetClient();
    // A TCP hop in front of the API server that can be cut: new connections refused, open ones closed.
    NetServer hop = vertx.createNetServer().connectHandler(in -> {
      in.pause();
      open.add(in);
      to.connect(api.getPort(), api.getHost()).onSuccess(out -> {
        open.add(out);
        in.pipeTo(out);
        out.pipeTo(in);
        in.resume();
      }).onFailure(e -> in.close());
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    Vertx gateway = Vertx.vertx();
    Bus.registerCodecs(gateway.eventBus());
    Config config = new ConfigBuilder().withMasterUrl("http://127.0.0.1:" + hop.actualPort()).withRequestTimeout(5_000).build();
    KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
    ClusterCache cache = ClusterCache.create(gateway, client, null, Duration.ofMinutes(5), Duration.ofSeconds(4));
    try {
      cache.start().await(30, TimeUnit.SECONDS);
      assertThat(cache.synced()).isTrue();
      assertThat(cache.watching()).isTrue();

      hop.close().await(10, TimeUnit.SECONDS);
      open.forEach(NetSocket::close);
      Await.until("a watch down", Duration.ofSeconds(20), () -> cache.watching() ? null : true);
      assertThat(cache.synced()).as("within the grace, a dropped watch is a reconnect, not an outage").isTrue();
      assertThat(cache.populated()).isTrue();
      Await.until("not synced once the grace is over", Duration.ofSeconds(20), () -> cache.synced() ? null : true);
      assertThat(cache.watching()).isFalse();
      assertThat(cache.populated()).as("the cache keeps what it had").isTrue();
    } finally {
      cache.stop().await(10, TimeUnit.SECONDS);
      client.close();
      gateway.close().await(10, TimeUnit.SECONDS);
      cluster.stop().await(60, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
