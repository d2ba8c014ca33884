package sh.navix.agentbox.devcluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import sh.navix.agentbox.devcluster.impl.EmbeddedDevCluster;

/**
 * An in-process Kubernetes for dev mode and tests: an API server on loopback (fabric8's CRUD mock
 * server with our CRDs registered) plus a simulated node that runs every pod as in-process dev
 * runtimes on its own loopback address.
 */
public interface DevCluster {

  static Future<DevCluster> start(Vertx vertx, DevClusterOptions options) {
    return EmbeddedDevCluster.start(vertx, options);
  }

  /** The API server URL, e.g. {@code http://127.0.0.1:6443}. */
  String masterUrl();

  /** A client connected to the API server, owned by the cluster. */
  KubernetesClient client();

  /** Writes a kubeconfig (context {@code agentbox-dev}) pointing at the API server; returns {@code file}. */
  Path writeKubeconfig(Path file);

  /** Stops the node (every dev runtime) and the API server. */
  Future<Void> stop();
}
