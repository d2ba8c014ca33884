package sh.navix.agentbox.reconciler;

import sh.navix.agentbox.api.lifecycle.KubeErrors;
import io.fabric8.kubernetes.api.model.Pod;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.history.HistoryStore;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.SandboxRecords;
import sh.navix.agentbox.api.model.Sandbox;

/**
 * The lifecycle writes every reconciler and the release handler share: release a sandbox, mark a
 * pod failed, and finish a pod (history record first, then finalizer off, then delete). Each
 * write is a compare-and-swap on the pod as the cache last saw it.
 */
public final class Lifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(Lifecycle.class);
  /** Failure reason of a second pod released because another one holds its sandbox. */
  static final String DUPLICATE_CLAIM = "DuplicateClaim";

  private final ClusterCache cache;
  private final PodWriter writer;
  private final HistoryStore history;
  private final Clock clock;
  private final MeterRegistry registry;
  private final Counter records;

  public Lifecycle(ClusterCache cache, PodWriter writer, HistoryStore history, Clock clock, MeterRegistry registry) {
    this.cache = cache;
    this.writer = writer;
    this.history = history;
    this.clock = clock;
    this.registry = registry;
    this.records = Counter.builder("agentbox_history_records_total").description("Terminal sandbox records written").register(registry);
  }

  ClusterCache cache() {
    return cache;
  }

  PodWriter writer() {
    return writer;
  }

  Clock clock() {
    return clock;
  }

  void transition(SandboxPhase from, String to) {
    registry.counter("agentbox_sandbox_transitions_total", "from", from == null ? "none" : from.wire(), "to", to).increment();
  }

  /** A pass of a pool's pod creates that the API server refused, all of them. */
  void createRefused(sh.navix.agentbox.api.crd.SandboxPool pool) {
    registry.counter("agentbox_pool_create_refusals_total", "namespace", pool.getMetadata().getNamespace(),
        "pool", pool.getMetadata().getName()).increment();
  }

  /** The pool's idle image, if the pool is known. */
  Optional<String> idleImage(Pod p) {
    return cache.pool(Pods.namespace(p), Pods.pool(p)).map(WarmPods::idleImage);
  }

  /**
   * Releases a starting or running sandbox: phase stopping with the stop reason and, when the
   * image can be swapped back, the idle image (the container restarts clean). A pod that already
   * runs the idle image is only marked; the phase reconciler then deletes it, since no image change
   * would reset its container. Releasing a pod that is already stopping is a no-op.
   */
  public Future<Pod> release(Pod p, SandboxStopReason reason, String failureReason, String failureMessage) {
    return release(p, reason, failureReason, failureMessage, false);
  }

  /**
   * {@link #release(Pod, SandboxStopReason, String, String)} for a request that waits on it (a
   * DELETE, a create given up): its write does not queue behind the reconcilers' (see
   * {@link PodWriter#updateForCaller}).
   */
  public Future<Pod> releaseForCaller(Pod p, SandboxStopReason reason, String failureReason, String failureMessage) {
    return release(p, reason, failureReason, failureMessage, true);
  }

  private Future<Pod> release(Pod p, SandboxStopReason reason, String failureReason, String failureMessage, boolean callerWaits) {
    SandboxPhase phase = Pods.phase(p).orElse(null);
    if (phase != SandboxPhase.STARTING && phase != SandboxPhase.RUNNING) {
      return Future.succeededFuture(p);
    }
    Optional<SandboxPool> pool = cache.pool(Pods.namespace(p), Pods.pool(p));
    // Without its pool the pod cannot go back to a warm state: mark it stopping on its own image.
    String idle = pool.map(WarmPods::idleImage).orElse(Pods.specImage(p));
    SandboxStopReason effective = phase == SandboxPhase.STARTING && reason == SandboxStopReason.Released ? SandboxStopReason.Canceled : reason;
    Pod released = PodTransitions.canRecycleInPlace(p, idle)
        ? PodTransitions.release(p, effective, failureReason, failureMessage, idle, pool.map(WarmPods::templateImages).orElse(Map.of()),
            clock.instant())
        : PodTransitions.markStopped(p, effective, failureReason, failureMessage, clock.instant());
    return (callerWaits ? writer.updateForCaller(released) : writer.update(released)).onSuccess(x -> {
      transition(phase, SandboxPhase.STOPPING.wire());
      LOG.info("sandbox {} on pod {}/{} released ({}{})", Pods.sandboxId(p), Pods.namespace(p), Pods.name(p), effective,
          failureReason == null ? "" : ", " + failureReason);
    });
  }

  /**
   * Releases {@code p}, a second pod holding {@code keeper}'s sandbox, as it would any release,
   * except that the sandbox lives on: no history record is written for it.
   */
  public Future<Pod> releaseDuplicate(Pod p, Pod keeper) {
    LOG.warn("sandbox {} is held by pods {} and {}: releasing {}, which was claimed later", Pods.sandboxId(p), PodWriter.key(keeper),
        PodWriter.key(p), PodWriter.key(p));
    return release(p, SandboxStopReason.Canceled, DUPLICATE_CLAIM, "sandbox " + Pods.sandboxId(p) + " lives on pod " + PodWriter.key(keeper));
  }

  /** Marks a pod failed with the observed failure; the phase reconciler then finishes it. */
  public Future<Pod> fail(Pod p, Pods.PodFailure failure) {
    SandboxPhase from = Pods.phase(p).orElse(null);
    return writer.update(PodTransitions.failed(p, failure, clock.instant())).onSuccess(x -> {
      transition(from, SandboxPhase.FAILED.wire());
      LOG.warn("pod {}/{} failed ({}): {}{}", Pods.namespace(p), Pods.name(p), failure.reason(), failure.message(),
          Pods.sandboxId(p) == null ? "" : "; sandbox " + Pods.sandboxId(p));
    });
  }

  /**
   * Writes the terminal record of the sandbox a pod holds (none for an unclaimed pod, nor for a
   * duplicate holder released while the sandbox lives on another pod).
   */
  public Future<Void> record(Pod p) {
    if (Pods.sandboxId(p) == null || DUPLICATE_CLAIM.equals(Pods.annotation(p, Annotations.FAILURE_REASON))) {
      return Future.succeededFuture();
    }
    Sandbox record = SandboxRecords.terminal(p, clock.instant());
    return history.record(record).map(written -> {
      if (written) {
        records.increment();
        LOG.info("history: sandbox {} {} (pod {}/{})", record.sandboxId(), record.status(), record.namespace(), record.podName());
      }
      return null;
    });
  }

  /**
   * Ends a pod for good: history record first, then the delete, then our finalizer off. Safe to
   * repeat after a crash at any step: the record is written once, a missing finalizer or pod is
   * fine. The delete is sent while the finalizer is still on, with the version the decision was
   * made on as its precondition: a pod that changed since (a claim of an idle pod chosen for
   * scale-down) is not deleted; the 409 fails this call and the pod is looked at again as it now
   * is. Once the pod is being deleted, the phase reconciler's next pass (its event) calls this
   * again, which takes the finalizer off.
   */
  public Future<Void> finish(Pod p) {
    return record(p)
        .compose(v -> {
          if (!Pods.deleting(p)) {
            return writer.delete(Pods.namespace(p), Pods.name(p), p.getMetadata().getResourceVersion());
          }
          return Pods.hasFinalizer(p, Finalizers.SANDBOX_PROTECTION)
              ? writer.update(PodTransitions.withoutFinalizer(p)).<Void>mapEmpty()
              : Future.<Void>succeededFuture();
        })
        .recover(e -> KubeErrors.gone(e) ? Future.succeededFuture() : Future.failedFuture(e))
        .onSuccess(v -> LOG.info("pod {}/{} {}", Pods.namespace(p), Pods.name(p), Pods.deleting(p) ? "removed" : "deleted"));
  }

  /** {@link #finish}, counted as the state-machine transition {@code from} → {@code to} once done. */
  public Future<Void> finish(Pod p, SandboxPhase from, String to) {
    return finish(p).onSuccess(v -> transition(from, to));
  }

  /** The first container image the sandbox ran, from the running-images annotation. */
  static String ranImage(Pod p) {
    Map<String, String> m = Pods.jsonMap(p, Annotations.RUNNING_IMAGES);
    return m == null ? null : m.get(p.getSpec().getContainers().get(0).getName());
  }
}
