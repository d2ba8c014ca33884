package sh.navix.agentbox.extproc.routing;

import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.Optional;
import java.util.function.Function;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxRuntimeSpec;
import sh.navix.agentbox.api.lifecycle.Pods;

/**
 * The routing brain: request → pod endpoint, from the cluster cache alone (no API call per
 * request). Only Running sandboxes route; a Starting one answers 503 with Retry-After; an
 * unknown or released one 404; a port that is not one of the sandbox's runtime ports 403.
 */
public final class SandboxRouter {
  private final ClusterCache cache;
  private final RequestTargets targets;

  public SandboxRouter(ClusterCache cache, String domain) {
    this.cache = cache;
    this.targets = new RequestTargets(domain);
  }

  /** Parses and resolves a request in one step. */
  public RouteDecision route(Function<String, String> header, String host, String pathAndQuery) {
    if (!cache.populated()) {
      return new RouteDecision.Reject(503, "the gateway is starting: its view of the cluster is not synced yet", 1);
    }
    Optional<RequestTarget> target;
    try {
      target = targets.parse(header, host, pathAndQuery);
    } catch (IllegalArgumentException e) {
      return new RouteDecision.Reject(400, e.getMessage(), null);
    }
    if (target.isEmpty()) {
      return new RouteDecision.Reject(404, "no sandbox addressed: use Host <port>-<sandboxId>.<domain>, "
          + "the x-sandbox-id header, or the path /sandboxes/<sandboxId>/<port>/", null);
    }
    return resolve(target.get());
  }

  public RouteDecision resolve(RequestTarget t) {
    Optional<Pod> pod = cache.podBySandboxId(t.sandboxId());
    if (pod.isEmpty()) {
      return new RouteDecision.Reject(404, "sandbox " + t.sandboxId() + " not found", null);
    }
    Pod p = pod.get();
    SandboxPhase phase = Pods.phase(p).orElse(null);
    if (phase == SandboxPhase.STARTING) {
      return new RouteDecision.Reject(503, "sandbox " + t.sandboxId() + " is starting", 1);
    }
    if (phase != SandboxPhase.RUNNING || Pods.deleting(p)) {
      return new RouteDecision.Reject(404, "sandbox " + t.sandboxId() + " has been released", null);
    }
    String ip = p.getStatus() == null ? null : p.getStatus().getPodIP();
    if (ip == null || ip.isEmpty()) {
      return new RouteDecision.Reject(503, "sandbox " + t.sandboxId() + " has no address yet", 1);
    }
    Integer port = runtimePort(p, t.port());
    if (port == null) {
      return t.port() == null
          ? new RouteDecision.Reject(404, "sandbox " + t.sandboxId() + " declares no runtime port: name one", null)
          : new RouteDecision.Reject(403, "port " + t.port() + " is not a runtime port of sandbox " + t.sandboxId(), null);
    }
    return new RouteDecision.Route(t.sandboxId(), ip, port, t.path());
  }

  /**
   * The port to route to: {@code wanted} if it is one of the sandbox's runtime ports, else null; the
   * first of them when none is named. The runtime ports are the pool's runtimes', else (when they
   * name none) the first container's declared ports. Called on every request: no list is built.
   */
  Integer runtimePort(Pod p, Integer wanted) {
    Optional<SandboxPool> pool = cache.pool(Pods.namespace(p), Pods.pool(p));
    boolean any = false;
    if (pool.isPresent() && pool.get().getSpec().getRuntimes() != null) {
      for (SandboxRuntimeSpec r : pool.get().getSpec().getRuntimes()) {
        if (r.getPort() != null) {
          if (wanted == null || wanted.equals(r.getPort())) {
            return r.getPort();
          }
          any = true;
        }
      }
    }
    if (any || p.getSpec().getContainers().get(0).getPorts() == null) {
      return null;
    }
    for (ContainerPort cp : p.getSpec().getContainers().get(0).getPorts()) {
      if (wanted == null || wanted.equals(cp.getContainerPort())) {
        return cp.getContainerPort();
      }
    }
    return null;
  }
}
