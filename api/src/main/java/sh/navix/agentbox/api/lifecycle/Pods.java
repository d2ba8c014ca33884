package sh.navix.agentbox.api.lifecycle;

import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import sh.navix.agentbox.api.GoDuration;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;

/** Read-only views of a pool pod: its phase, sandbox keys, readiness and failure state. */
public final class Pods {
  private Pods() {}

  /** Container waiting reasons after which the kubelet only backs off: the pod will not recover by itself. */
  static final Set<String> FATAL_WAITING = Set.of("ImagePullBackOff", "CrashLoopBackOff", "InvalidImageName", "ErrImageNeverPull");

  public static String label(HasMetadata o, String key) {
    Map<String, String> m = o.getMetadata().getLabels();
    return m == null ? null : m.get(key);
  }

  public static String annotation(HasMetadata o, String key) {
    Map<String, String> m = o.getMetadata().getAnnotations();
    return m == null ? null : m.get(key);
  }

  public static String name(HasMetadata o) {
    return o.getMetadata().getName();
  }

  public static String namespace(HasMetadata o) {
    return o.getMetadata().getNamespace();
  }

  public static String pool(Pod p) {
    return label(p, Labels.SANDBOX_POOL);
  }

  public static Optional<SandboxPhase> phase(Pod p) {
    return SandboxPhase.fromWire(label(p, Labels.SANDBOX_PHASE));
  }

  public static boolean inPhase(Pod p, SandboxPhase phase) {
    return phase.wire().equals(label(p, Labels.SANDBOX_PHASE));
  }

  public static String sandboxId(Pod p) {
    return label(p, Labels.SANDBOX_ID);
  }

  public static boolean deleting(HasMetadata o) {
    return o.getMetadata().getDeletionTimestamp() != null;
  }

  public static boolean hasFinalizer(HasMetadata o, String finalizer) {
    List<String> f = o.getMetadata().getFinalizers();
    return f != null && f.contains(finalizer);
  }

  /**
   * The pod a sandbox lives on when several hold its id: two replicas claimed for one
   * Idempotency-Key at the same moment, or a holder on its way out. Of the holders starting or
   * running and not being deleted, the one claimed first (then by namespace/name) keeps it; the
   * leader recycles the others. Without such a holder, the first one. Routing, the API and the
   * leader's duplicate check all go by this one rule, so they never disagree on where it lives.
   */
  public static Optional<Pod> holder(List<Pod> holders) {
    if (holders.size() < 2) {
      return holders.isEmpty() ? Optional.empty() : Optional.of(holders.get(0));
    }
    Optional<Pod> live = holders.stream()
        .filter(Pods::live)
        .min(Comparator.<Pod, Instant>comparing(h -> time(h, Annotations.CLAIMED_AT).orElse(Instant.MAX))
            .thenComparing(h -> namespace(h) + "/" + name(h)));
    return live.isPresent() ? live : holders.stream().findFirst();
  }

  /** Whether the pod holds a live sandbox: starting or running, and not being deleted. */
  public static boolean live(Pod p) {
    return !deleting(p) && (inPhase(p, SandboxPhase.STARTING) || inPhase(p, SandboxPhase.RUNNING));
  }

  /**
   * Whether a claim may take this pod: idle, Ready, not being deleted, and still carrying the
   * protection finalizer. (A removal deletes with the pod's version as a precondition, so a claim
   * and a removal of the same pod can never both succeed.)
   */
  public static boolean claimable(Pod p) {
    return inPhase(p, SandboxPhase.IDLE) && ready(p) && !deleting(p)
        && hasFinalizer(p, sh.navix.agentbox.api.crd.Finalizers.SANDBOX_PROTECTION);
  }

  /** The first container's image in the pod spec (what the kubelet is asked to run). */
  public static String specImage(Pod p) {
    return p.getSpec().getContainers().get(0).getImage();
  }

  /** The PodReady condition is True. */
  public static boolean ready(Pod p) {
    if (p.getStatus() == null || p.getStatus().getConditions() == null) {
      return false;
    }
    for (var c : p.getStatus().getConditions()) { // on every pod event: no stream
      if ("Ready".equals(c.getType()) && "True".equals(c.getStatus())) {
        return true;
      }
    }
    return false;
  }

  public static Optional<ContainerStatus> firstContainerStatus(Pod p) {
    if (p.getStatus() == null || p.getStatus().getContainerStatuses() == null) {
      return Optional.empty();
    }
    String first = p.getSpec().getContainers().get(0).getName();
    return p.getStatus().getContainerStatuses().stream().filter(s -> first.equals(s.getName())).findFirst();
  }

  /** The first container runs {@code image}, is ready, and the pod is Ready. */
  public static boolean runsReady(Pod p, String image) {
    return ready(p) && firstContainerStatus(p).filter(s -> upOn(s, image)).isPresent();
  }

  /**
   * The pod is Ready and every container is up on the image its spec names (the first one's swap
   * and any sidecar's), as the kubelet reports them: after an in-place image change it reports the
   * new image only once the restarted container runs.
   */
  public static boolean startedOnSpecImages(Pod p) {
    if (!ready(p) || p.getStatus().getContainerStatuses() == null) {
      return false;
    }
    return p.getSpec().getContainers().stream().allMatch(c -> p.getStatus().getContainerStatuses().stream()
        .anyMatch(s -> c.getName().equals(s.getName()) && upOn(s, c.getImage())));
  }

  /** The container runs {@code image} (however the runtime spells it) and is ready. */
  private static boolean upOn(ContainerStatus s, String image) {
    return ImageRefs.runs(s, image) && Boolean.TRUE.equals(s.getReady()) && s.getState() != null && s.getState().getRunning() != null;
  }

  /** The runtime container id of the first container, e.g. containerd://abc. */
  public static String containerId(Pod p) {
    return firstContainerStatus(p).map(ContainerStatus::getContainerID).orElse(null);
  }

  public static String nodeName(Pod p) {
    return p.getSpec().getNodeName();
  }

  /** Parses an RFC3339 annotation; empty when absent or malformed. */
  public static Optional<Instant> time(HasMetadata o, String annotation) {
    String v = annotation(o, annotation);
    if (v == null || v.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Instant.parse(v));
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /** A duration annotation (whole seconds, or Go syntax); empty when absent, malformed or zero. */
  public static Optional<Duration> duration(HasMetadata o, String annotation) {
    return GoDuration.parseLenient(annotation(o, annotation));
  }

  private static final tools.jackson.core.type.TypeReference<Map<String, String>> STRING_MAP = new tools.jackson.core.type.TypeReference<>() {};

  /** An annotation holding a JSON object of strings (metadata, running images); null when absent or malformed. */
  public static Map<String, String> jsonMap(HasMetadata o, String annotation) {
    String v = annotation(o, annotation);
    if (v == null || v.isBlank()) {
      return null;
    }
    try {
      return sh.navix.agentbox.api.Json.mapper().readValue(v, STRING_MAP);
    } catch (RuntimeException e) {
      return null; // hand-edited: treat as absent
    }
  }

  /** Why the pod cannot serve, when it has failed in a way it will not recover from on its own. */
  public static Optional<PodFailure> failure(Pod p) {
    if (p.getStatus() == null) {
      return Optional.empty();
    }
    if ("Failed".equals(p.getStatus().getPhase())) {
      String reason = p.getStatus().getReason() == null ? "PodFailed" : p.getStatus().getReason();
      return Optional.of(new PodFailure(reason, p.getStatus().getMessage(), exitCode(p)));
    }
    Optional<ContainerStatus> cs = firstContainerStatus(p);
    if (cs.isEmpty()) {
      return Optional.empty();
    }
    ContainerState state = cs.get().getState();
    ContainerState last = cs.get().getLastState();
    if (terminatedWith(state, "OOMKilled") || terminatedWith(last, "OOMKilled")) {
      return Optional.of(new PodFailure("OOMKilled", "container " + cs.get().getName() + " was killed for exceeding its memory limit", exitCode(p)));
    }
    if (state != null && state.getWaiting() != null && FATAL_WAITING.contains(state.getWaiting().getReason())) {
      return Optional.of(new PodFailure(state.getWaiting().getReason(), state.getWaiting().getMessage(), exitCode(p)));
    }
    return Optional.empty();
  }

  private static boolean terminatedWith(ContainerState s, String reason) {
    return s != null && s.getTerminated() != null && reason.equals(s.getTerminated().getReason());
  }

  /** The last exit code of the first container, if it ever terminated. */
  static Integer exitCode(Pod p) {
    Optional<ContainerStatus> cs = firstContainerStatus(p);
    if (cs.isEmpty()) {
      return null;
    }
    for (ContainerState s : new ContainerState[] {cs.get().getState(), cs.get().getLastState()}) {
      if (s != null && s.getTerminated() != null && s.getTerminated().getExitCode() != null) {
        return s.getTerminated().getExitCode();
      }
    }
    return null;
  }

  /** A failure seen on a pod: reason (Evicted, OOMKilled, ImagePullBackOff, ...), message, exit code. */
  public record PodFailure(String reason, String message, Integer exitCode) {}
}
