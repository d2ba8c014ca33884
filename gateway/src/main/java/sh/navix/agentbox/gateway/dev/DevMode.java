package sh.navix.agentbox.gateway.dev;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxTemplate;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.gateway.GatewayOptions;

/**
 * Dev mode: starts the embedded cluster, writes its kubeconfig to {@code $AGENTBOX_HOME/dev/kubeconfig}
 * and applies the demo template and pool. The gateway then talks to it like to any cluster.
 */
public final class DevMode {
  private static final Logger LOG = LoggerFactory.getLogger(DevMode.class);

  private final Vertx clusterVertx;
  private final DevCluster cluster;
  private final Path kubeconfig;

  private DevMode(Vertx clusterVertx, DevCluster cluster, Path kubeconfig) {
    this.clusterVertx = clusterVertx;
    this.cluster = cluster;
    this.kubeconfig = kubeconfig;
  }

  public static Future<DevMode> start(Vertx vertx, GatewayOptions options) {
    DevClusterOptions dco = new DevClusterOptions().setApiPort(options.devApiPort).setPullDelay(options.devPullDelay);
    // The simulated node gets a Vert.x of its own: its pods are "other machines", so their
    // servers must not show up in the gateway's metrics or share its event loops.
    Vertx clusterVertx = Vertx.vertx();
    return DevCluster.start(clusterVertx, dco)
        .onFailure(e -> clusterVertx.close())
        .compose(cluster -> vertx.executeBlocking(() -> {
          // Blocking: file I/O and synchronous fabric8 calls against the embedded API server.
          Path kc = cluster.writeKubeconfig(options.devDir().resolve("kubeconfig"));
          applyDemo(cluster.client());
          LOG.info("dev cluster at {}; kubeconfig {}", cluster.masterUrl(), kc);
          return new DevMode(clusterVertx, cluster, kc);
        }));
  }

  /** A client configuration for the embedded API server, read from the kubeconfig dev mode wrote. */
  public Config clientConfig() throws IOException {
    return Config.fromKubeconfig(Files.readString(kubeconfig));
  }

  public DevCluster cluster() {
    return cluster;
  }

  public Path kubeconfig() {
    return kubeconfig;
  }

  public Future<Void> stop() {
    // Bridged through a plain CompletableFuture: futures bound to clusterVertx die with it.
    java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
    cluster.stop().onComplete(ar -> sh.navix.agentbox.gateway.VertxClose.close(clusterVertx).onComplete(x -> done.complete(null)));
    return Future.fromCompletionStage(done);
  }

  /**
   * Applies the demo template and a pool that names it; the pool reconciler copies the template
   * into the pool and creates the warm pods, as it would for any pool.
   */
  static void applyDemo(KubernetesClient client) {
    SandboxTemplate template = client.resource(load("/dev/demo-template.yaml", SandboxTemplate.class)).create();
    SandboxPool pool = client.resource(load("/dev/demo-pool.yaml", SandboxPool.class)).create();
    LOG.info("applied demo template {} and pool {}/{} ({} replicas)", template.getMetadata().getName(),
        pool.getMetadata().getNamespace(), pool.getMetadata().getName(), pool.getSpec().getReplicas());
  }

  private static <T> T load(String resource, Class<T> type) {
    try (InputStream in = DevMode.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      return Serialization.unmarshal(in, type);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
