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
  default Path writeKubeconfig(Path file) {
    return writeKubeconfig(file, DEV_USER);
  }

  /**
   * Writes a kubeconfig whose user is {@code user}: its bearer token, which is the name the
   * API server's {@link #accesses() audit} knows the user by. Returns {@code file}.
   */
  Path writeKubeconfig(Path file, String user);

  /** The user of {@link #writeKubeconfig(Path)}'s kubeconfig. */
  String DEV_USER = "dev";

  /**
   * What the API server was asked since it started, when {@link DevClusterOptions#setAudit} is on
   * (empty otherwise): each distinct kind of request, as Kubernetes authorizes it (verb, API group,
   * resource, subresource, namespace), with the user that made it: its bearer token, or
   * {@code system:anonymous} without one.
   */
  java.util.Set<Access> accesses();

  /** Stops the node (every dev runtime) and the API server. */
  Future<Void> stop();

  /**
   * One kind of request as Kubernetes' authorizer sees it. A resource request has a verb (get, list,
   * watch, create, update, patch, delete, deletecollection), an API group ({@code ""} for the core
   * group), a resource, maybe a subresource ({@code ""} when none) and a namespace ({@code ""} when
   * cluster-wide); {@code path} is null. Any other request ({@code /version}, discovery) has only
   * its verb and {@code path}.
   */
  record Access(String user, String verb, String apiGroup, String resource, String subresource, String namespace, String path) {
    public boolean isResourceRequest() {
      return path == null;
    }
  }

  /** One command run in {@code container} through the exec API: its arguments as received, and when it ran. */
  record Exec(String container, List<String> command, Instant at) {
    public Exec {
      command = List.copyOf(command);
    }
  }
}
