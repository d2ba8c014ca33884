package sh.navix.agentbox.devcluster;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
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

  /**
   * The commands run through the pod exec API in the current containers of pod {@code namespace/podName},
   * oldest first: a container that restarted (for example on an image change) has run none, and a pod
   * the node does not run (unknown, not started, deleted) has none.
   */
  List<Exec> execs(String namespace, String podName);

  /** Writes a kubeconfig (context {@code agentbox-dev}) pointing at the API server; returns {@code file}. */
  Path writeKubeconfig(Path file);

  /** Stops the node (every dev runtime) and the API server. */
  Future<Void> stop();

  /** One command run in {@code container} through the exec API: its arguments as received, and when it ran. */
  record Exec(String container, List<String> command, Instant at) {
    public Exec {
      command = List.copyOf(command);
    }
  }
}
