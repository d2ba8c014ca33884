package sh.navix.agentbox.api.lifecycle;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.api.model.SandboxStatus;

/** Builds the {@link Sandbox} view of a claimed pod: live, or as the terminal history record. */
public final class SandboxRecords {
  private SandboxRecords() {}

  /** The live status of a claimed pod (Starting, Running, Stopping), or null for idle/failed pods. */
  public static String liveStatus(Pod p) {
    return Pods.phase(p).map(ph -> switch (ph) {
      case STARTING -> SandboxStatus.STARTING;
      case RUNNING -> SandboxStatus.RUNNING;
      case STOPPING -> SandboxStatus.STOPPING;
      case FAILED -> SandboxStatus.FAILED;
      case IDLE -> null;
    }).orElse(null);
  }

  /**
   * The terminal status a sandbox ends with: Failed when it failed (or was stopped for a failure),
   * Canceled when it never reached Running, Completed otherwise.
   */
  public static String terminalStatus(Pod p) {
    String stop = Pods.annotation(p, Annotations.STOP_REASON);
    if (SandboxStopReason.Failed.name().equals(stop) || Pods.inPhase(p, SandboxPhase.FAILED)) {
      return SandboxStatus.FAILED;
    }
    if (SandboxStopReason.Canceled.name().equals(stop) || Pods.annotation(p, Annotations.STARTED_AT) == null) {
      return SandboxStatus.CANCELED;
    }
    return SandboxStatus.COMPLETED;
  }

  /** The sandbox a claimed pod holds, with {@code status}; {@code recycledAt} may be null. */
  public static Sandbox of(Pod p, String status, Instant terminatedAt, Instant recycledAt) {
    Map<String, String> images = Pods.jsonMap(p, Annotations.RUNNING_IMAGES);
    if (images == null) {
      images = PodTransitions.images(p);
    }
    String containerId = Pods.annotation(p, Annotations.CONTAINER_ID);
    if (containerId == null) {
      containerId = Pods.containerId(p);
    }
    String terminated = Pods.annotation(p, Annotations.TERMINATED_AT);
    if (terminated == null && terminatedAt != null) {
      terminated = PodTransitions.rfc3339(terminatedAt);
    }
    String exit = Pods.annotation(p, Annotations.EXIT_CODE);
    return new Sandbox(
        Pods.sandboxId(p),
        Pods.namespace(p),
        Pods.label(p, Labels.TEAM),
        Pods.label(p, Labels.USER),
        Pods.pool(p),
        Pods.name(p),
        Pods.jsonMap(p, Annotations.SANDBOX_METADATA),
        status,
        images,
        Pods.nodeName(p),
        containerId,
        sum(p, "cpu"),
        sum(p, "memory"),
        Pods.annotation(p, Annotations.CLAIMED_AT),
        Pods.annotation(p, Annotations.STARTED_AT),
        terminated,
        recycledAt == null ? null : PodTransitions.rfc3339(recycledAt),
        null,
        null,
        null,
        Pods.annotation(p, Annotations.FAILURE_REASON),
        exit == null ? null : parseInt(exit),
        Pods.annotation(p, Annotations.FAILURE_MESSAGE));
  }

  /** The history record of a pod whose sandbox ends now. */
  public static Sandbox terminal(Pod p, Instant now) {
    return of(p, terminalStatus(p), now, now).persisted();
  }

  private static Integer parseInt(String s) {
    try {
      return Integer.valueOf(s.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Sum of the containers' requests of one resource, as a Kubernetes quantity string; null when none. */
  static String sum(Pod p, String resource) {
    BigDecimal total = BigDecimal.ZERO;
    boolean any = false;
    Quantity only = null;
    int count = 0;
    for (Container c : p.getSpec().getContainers()) {
      if (c.getResources() != null && c.getResources().getRequests() != null) {
        Quantity q = c.getResources().getRequests().get(resource);
        if (q != null) {
          total = total.add(q.getNumericalAmount());
          any = true;
          only = q;
          count++;
        }
      }
    }
    if (!any) {
      return null;
    }
    if (count == 1) {
      return only.toString(); // as written in the pod spec, e.g. "8Gi", "500m"
    }
    if (resource.equals("cpu")) {
      return total.multiply(BigDecimal.valueOf(1000)).stripTrailingZeros().toPlainString() + "m";
    }
    return total.stripTrailingZeros().toPlainString();
  }
}
