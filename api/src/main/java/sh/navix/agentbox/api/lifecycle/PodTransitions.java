package sh.navix.agentbox.api.lifecycle;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.model.PostStartHookAction;
import tools.jackson.core.type.TypeReference;

/**
 * Every arrow of the pod state machine as a pure function: the pod as last seen in, the pod to
 * write back out. Callers write the result with a compare-and-swap update (it keeps the input's
 * resourceVersion), so a pod that changed meanwhile is never overwritten. The scheduler, the
 * reconcilers and the API all use these, so they write one vocabulary.
 */
public final class PodTransitions {
  private PodTransitions() {}

  /** Labels that belong to one sandbox and go when the pod is recycled (besides the caller's managed keys). */
  static final List<String> SANDBOX_LABELS = List.of(Labels.SANDBOX_ID, Labels.TEAM, Labels.USER);

  /** Annotations that belong to one sandbox and go when the pod is recycled (besides the caller's managed keys). */
  static final List<String> SANDBOX_ANNOTATIONS = List.of(
      Annotations.SANDBOX_ID, Annotations.CLAIMED_AT, Annotations.STARTED_AT, Annotations.IDLE_TIMEOUT,
      Annotations.STARTUP_TIMEOUT, Annotations.LAST_ACTIVE, Annotations.SANDBOX_METADATA,
      Annotations.MANAGED_LABEL_KEYS, Annotations.MANAGED_ANNOTATION_KEYS, Annotations.STOP_REASON,
      Annotations.TERMINATED_AT, Annotations.FAILURE_REASON, Annotations.FAILURE_MESSAGE, Annotations.EXIT_CODE,
      Annotations.RUNNING_IMAGES, Annotations.CONTAINER_ID, Annotations.POST_START_HOOKS,
      Annotations.SANDBOX_STATUS_DETAIL, Annotations.SCALE_DOWN_PROTECTED);

  private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};

  /** RFC3339 UTC with second precision, as Kubernetes writes times. */
  public static String rfc3339(Instant t) {
    return t.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /** What a create request asks of the pod it claims. */
  public record ClaimSpec(
      String sandboxId,
      Map<String, String> containerImages,
      Map<String, String> labels,
      Map<String, String> annotations,
      Map<String, String> metadata,
      Duration startupTimeout,
      Duration idleTimeout,
      List<PostStartHookAction> postStartHooks,
      String team,
      String user,
      Instant now) {}

  /**
   * idle → starting: the sandbox id, claim time, timeouts, metadata, hooks, the caller's labels and
   * annotations (their keys remembered for recycling), team/user, and the requested images swapped
   * in place (containers whose image does not change are left alone). Clears a scale-down mark.
   */
  public static Pod claim(Pod idle, ClaimSpec c) {
    Pod p = copy(idle);
    Map<String, String> labels = labels(p);
    Map<String, String> ann = annotations(p);
    ann.remove(Annotations.SCALE_DOWN_PROTECTED);
    if (c.labels() != null && !c.labels().isEmpty()) {
      labels.putAll(c.labels());
      ann.put(Annotations.MANAGED_LABEL_KEYS, Json.encode(new ArrayList<>(c.labels().keySet())));
    }
    if (c.annotations() != null && !c.annotations().isEmpty()) {
      ann.putAll(c.annotations());
      ann.put(Annotations.MANAGED_ANNOTATION_KEYS, Json.encode(new ArrayList<>(c.annotations().keySet())));
    }
    labels.put(Labels.SANDBOX_PHASE, SandboxPhase.STARTING.wire());
    labels.put(Labels.SANDBOX_ID, c.sandboxId());
    putIfSet(labels, Labels.TEAM, c.team());
    putIfSet(labels, Labels.USER, c.user());
    ann.put(Annotations.SANDBOX_ID, c.sandboxId());
    ann.put(Annotations.CLAIMED_AT, rfc3339(c.now()));
    if (c.startupTimeout() != null && !c.startupTimeout().isZero()) {
      ann.put(Annotations.STARTUP_TIMEOUT, Long.toString(c.startupTimeout().toSeconds()));
    }
    if (c.idleTimeout() != null && !c.idleTimeout().isZero()) {
      ann.put(Annotations.IDLE_TIMEOUT, Long.toString(c.idleTimeout().toSeconds()));
    }
    if (c.metadata() != null && !c.metadata().isEmpty()) {
      ann.put(Annotations.SANDBOX_METADATA, Json.encode(c.metadata()));
    }
    if (c.postStartHooks() != null && !c.postStartHooks().isEmpty()) {
      ann.put(Annotations.POST_START_HOOKS, Json.encode(c.postStartHooks()));
    }
    if (c.containerImages() != null) {
      for (Container container : p.getSpec().getContainers()) {
        String image = c.containerImages().get(container.getName());
        if (image != null && !image.equals(container.getImage())) {
          container.setImage(image);
        }
      }
    }
    return p;
  }

  /** starting → running: records when the sandbox started. */
  public static Pod running(Pod starting, Instant now) {
    Pod p = copy(starting);
    labels(p).put(Labels.SANDBOX_PHASE, SandboxPhase.RUNNING.wire());
    annotations(p).put(Annotations.STARTED_AT, rfc3339(now));
    annotations(p).remove(Annotations.SANDBOX_STATUS_DETAIL);
    return p;
  }

  /** Whether releasing this pod can reset its container by swapping back to {@code idleImage}. */
  public static boolean canRecycleInPlace(Pod p, String idleImage) {
    return !idleImage.equals(Pods.specImage(p));
  }

  /**
   * starting/running → stopping: stop reason, termination time, the images that ran and the
   * container id, and every container set back to its warm image, which restarts it clean: the
   * first to {@code idleImage}, the others to the pool template's image for them
   * ({@code templateImages}, container name → image), so that a sidecar the sandbox swapped with
   * {@code containerImages} does not carry its image and state over to the next sandbox. Only
   * valid when {@link #canRecycleInPlace}; otherwise the pod must be deleted, since nothing would
   * reset its first container.
   */
  public static Pod release(Pod live, SandboxStopReason reason, String failureReason, String failureMessage,
      String idleImage, Map<String, String> templateImages, Instant now) {
    if (!canRecycleInPlace(live, idleImage)) {
      throw new IllegalStateException("pod " + Pods.name(live) + " already runs the idle image: delete it instead");
    }
    Pod p = markStopped(live, reason, failureReason, failureMessage, now);
    List<Container> containers = p.getSpec().getContainers();
    containers.get(0).setImage(idleImage);
    for (Container c : containers.subList(1, containers.size())) {
      String warm = templateImages.get(c.getName());
      if (warm != null && !warm.equals(c.getImage())) {
        c.setImage(warm);
      }
    }
    return p;
  }

  /**
   * starting/running → stopping without an image change: for a pod that already runs the idle
   * image. Such a pod is deleted once its record is written, never handed to another sandbox.
   */
  public static Pod markStopped(Pod live, SandboxStopReason reason, String failureReason, String failureMessage, Instant now) {
    Pod p = copy(live);
    Map<String, String> ann = annotations(p);
    labels(p).put(Labels.SANDBOX_PHASE, SandboxPhase.STOPPING.wire());
    ann.put(Annotations.STOP_REASON, reason.name());
    ann.put(Annotations.TERMINATED_AT, rfc3339(now));
    putIfSet(ann, Annotations.FAILURE_REASON, failureReason);
    putIfSet(ann, Annotations.FAILURE_MESSAGE, failureMessage);
    ann.put(Annotations.RUNNING_IMAGES, Json.encode(images(live)));
    putIfSet(ann, Annotations.CONTAINER_ID, Pods.containerId(live));
    return p;
  }

  /** stopping → idle: every sandbox-scoped label and annotation removed, phase idle. */
  public static Pod recycled(Pod stopping) {
    Pod p = copy(stopping);
    Map<String, String> labels = labels(p);
    Map<String, String> ann = annotations(p);
    for (String k : keys(stopping, Annotations.MANAGED_LABEL_KEYS)) {
      labels.remove(k);
    }
    for (String k : keys(stopping, Annotations.MANAGED_ANNOTATION_KEYS)) {
      ann.remove(k);
    }
    SANDBOX_LABELS.forEach(labels::remove);
    SANDBOX_ANNOTATIONS.forEach(ann::remove);
    labels.put(Labels.SANDBOX_PHASE, SandboxPhase.IDLE.wire());
    return p;
  }

  /** any → failed: failure reason, message and exit code recorded. */
  public static Pod failed(Pod live, Pods.PodFailure f, Instant now) {
    Pod p = copy(live);
    Map<String, String> ann = annotations(p);
    labels(p).put(Labels.SANDBOX_PHASE, SandboxPhase.FAILED.wire());
    putIfSet(ann, Annotations.FAILURE_REASON, f.reason());
    putIfSet(ann, Annotations.FAILURE_MESSAGE, f.message());
    if (f.exitCode() != null) {
      ann.put(Annotations.EXIT_CODE, Integer.toString(f.exitCode()));
    }
    if (Pods.sandboxId(live) != null) {
      ann.putIfAbsent(Annotations.STOP_REASON, SandboxStopReason.Failed.name());
      ann.putIfAbsent(Annotations.TERMINATED_AT, rfc3339(now));
    }
    return p;
  }

  /** Marks an idle pod as chosen for scale-down; a claim inside the window clears the mark. */
  public static Pod protectForScaleDown(Pod idle, Instant now) {
    Pod p = copy(idle);
    annotations(p).put(Annotations.SCALE_DOWN_PROTECTED, rfc3339(now));
    return p;
  }

  /** Clears the scale-down mark (the pool needs the pod after all). */
  public static Pod unprotect(Pod idle) {
    Pod p = copy(idle);
    annotations(p).remove(Annotations.SCALE_DOWN_PROTECTED);
    return p;
  }

  /** The pod with our finalizer removed, so a pending deletion can complete. */
  public static Pod withoutFinalizer(Pod live) {
    Pod p = copy(live);
    List<String> f = new ArrayList<>(p.getMetadata().getFinalizers() == null ? List.of() : p.getMetadata().getFinalizers());
    f.remove(Finalizers.SANDBOX_PROTECTION);
    p.getMetadata().setFinalizers(f);
    return p;
  }

  /** The pod with our finalizer added (backfill for pods that lack it). */
  public static Pod withFinalizer(Pod live) {
    Pod p = copy(live);
    List<String> f = new ArrayList<>(p.getMetadata().getFinalizers() == null ? List.of() : p.getMetadata().getFinalizers());
    if (!f.contains(Finalizers.SANDBOX_PROTECTION)) {
      f.add(Finalizers.SANDBOX_PROTECTION);
    }
    p.getMetadata().setFinalizers(f);
    return p;
  }

  /**
   * A claimed pod deleted before its sandbox was released: a starting sandbox is Canceled, a
   * running one Failed with {@code reason} (PodDeleted, PoolDeleted). Pods already stopping or
   * failed keep their record.
   */
  public static Pod deletedFromOutside(Pod live, String reason, Instant now) {
    SandboxPhase phase = Pods.phase(live).orElse(null);
    if (Pods.sandboxId(live) == null || (phase != SandboxPhase.STARTING && phase != SandboxPhase.RUNNING)
        || Pods.annotation(live, Annotations.STOP_REASON) != null) {
      return live;
    }
    Pod p = copy(live);
    Map<String, String> ann = annotations(p);
    ann.put(Annotations.STOP_REASON, (phase == SandboxPhase.STARTING ? SandboxStopReason.Canceled : SandboxStopReason.Failed).name());
    ann.put(Annotations.TERMINATED_AT, rfc3339(now));
    ann.putIfAbsent(Annotations.FAILURE_REASON, reason);
    ann.putIfAbsent(Annotations.FAILURE_MESSAGE, deletedFromOutsideMessage(reason));
    return p;
  }

  /** The failure message recorded for a sandbox whose pod was deleted from outside for {@code reason} (PodDeleted, PoolDeleted). */
  public static String deletedFromOutsideMessage(String reason) {
    return "PoolDeleted".equals(reason) ? "the pool was deleted before the sandbox was released"
        : "the pod was deleted before the sandbox was released";
  }

  /** Container name → image of the pod spec, in container order. */
  public static Map<String, String> images(Pod p) {
    Map<String, String> m = new LinkedHashMap<>();
    for (Container c : p.getSpec().getContainers()) {
      m.put(c.getName(), c.getImage());
    }
    return m;
  }

  private static List<String> keys(Pod p, String annotation) {
    String v = Pods.annotation(p, annotation);
    if (v == null || v.isBlank()) {
      return List.of();
    }
    try {
      return Json.mapper().readValue(v, STRING_LIST);
    } catch (RuntimeException e) {
      return List.of(); // a hand-edited, malformed list must not block recycling
    }
  }

  /**
   * A deep copy to edit (the cache's objects are shared and never modified). The generated
   * builder copies nested objects, lists and maps; a JSON round trip did the same at about twice
   * the cost once the JIT has warmed up, and far more before.
   */
  private static Pod copy(Pod p) {
    return new PodBuilder(p).build();
  }

  private static Map<String, String> labels(Pod p) {
    if (p.getMetadata().getLabels() == null) {
      p.getMetadata().setLabels(new LinkedHashMap<>());
    }
    return p.getMetadata().getLabels();
  }

  private static Map<String, String> annotations(Pod p) {
    if (p.getMetadata().getAnnotations() == null) {
      p.getMetadata().setAnnotations(new LinkedHashMap<>());
    }
    return p.getMetadata().getAnnotations();
  }

  private static void putIfSet(Map<String, String> m, String k, String v) {
    if (v != null && !v.isBlank()) {
      m.put(k, v);
    }
  }
}
