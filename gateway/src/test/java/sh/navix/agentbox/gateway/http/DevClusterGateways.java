package sh.navix.agentbox.gateway.http;

import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.gateway.Gateway;

/**
 * For tests: a dev cluster on a Vert.x of its own, and gateway processes (in this JVM) on it, each
 * with its home under {@code home}. Closing stops the gateways still running, the last started
 * first, while their API server is still there (the leader hands back its Lease), then the cluster.
 */
final class DevClusterGateways implements AutoCloseable {
  final Vertx vertx;
  final DevCluster cluster;
  private final Path home;
  private final Deque<Gateway> running = new ArrayDeque<>();

  private DevClusterGateways(Vertx vertx, DevCluster cluster, Path home) {
    this.vertx = vertx;
    this.cluster = cluster;
    this.home = home;
  }

  /** A dev cluster whose simulated node pulls an image in 100 ms. */
  static DevClusterGateways start(Path home) throws Exception {
    return start(home, new DevClusterOptions().setPullDelay(Duration.ofMillis(100)));
  }

  static DevClusterGateways start(Path home, DevClusterOptions options) throws Exception {
    Vertx vertx = Vertx.vertx();
    return new DevClusterGateways(vertx, DevCluster.start(vertx, options).await(30, TimeUnit.SECONDS), home);
  }

  /** A gateway named {@code name} reaching the cluster directly, as the dev cluster's own user, with {@code flags}. */
  Gateway gateway(String name, String... flags) throws Exception {
    return gateway(name, cluster.writeKubeconfig(home.resolve(name + "-kubeconfig")), flags);
  }

  /** A gateway named {@code name} reaching the cluster through {@code kubeconfig}, with {@code flags}. */
  Gateway gateway(String name, Path kubeconfig, String... flags) throws Exception {
    Gateway g = GatewayProcesses.start(home.resolve(name), kubeconfig, flags);
    running.push(g);
    return g;
  }

  /** Stops {@code g} now, before the rest. */
  void stop(Gateway g) throws Exception {
    if (running.remove(g)) {
      g.stop().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws Exception {
    while (!running.isEmpty()) {
      stop(running.peek());
    }
    cluster.stop().await(30, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }
}
