package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.bus.BusConsumer;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.SandboxRecords;
import sh.navix.agentbox.api.model.SandboxStatus;

/**
 * Moves each pod along the state machine from what the informer sees (leader only):
 * starting → running, stopping → idle (history first), failures → failed → removed, and pods
 * deleted from outside → history, then the finalizer comes off. One pod is handled at a time per
 * key; bursts of events coalesce.
 */
public final class PhaseReconciler extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(PhaseReconciler.class);

  private final Lifecycle lifecycle;
  private final Duration resync;
  private KeyedQueue queue;
  private BusConsumer<Bus.PodChanged> consumer;
  private long timer = -1;

  public PhaseReconciler(Lifecycle lifecycle, Duration resync) {
    this.lifecycle = lifecycle;
    this.resync = resync;
  }

  @Override
  public Future<?> start() {
    queue = new KeyedQueue("phase", this::reconcile);
    consumer = BusConsumer.on(vertx, Bus.POD_CHANGED, m -> {
      Bus.PodChanged c = m.body();
      if (c.newPhase() != null || c.oldPhase() != null) {
        queue.submit(c.namespace() + "/" + c.podName());
      }
    }, PhaseReconciler::droppedOnStop);
    timer = vertx.setPeriodic(0, resync.toMillis(), id -> lifecycle.cache().pods().forEach(p -> queue.submit(PodWriter.key(p))));
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    queue.close();
    vertx.cancelTimer(timer);
    return consumer.unregister();
  }

  /** A pod event that came after this replica stopped leading: the next leader reads the cache afresh. */
  static void droppedOnStop(Message<Bus.PodChanged> m) {
    LOG.debug("pod {}/{}: event dropped, this replica stopped leading", m.body().namespace(), m.body().podName());
  }

  Future<?> reconcile(String key) {
    int slash = key.indexOf('/');
    Optional<Pod> cached = lifecycle.cache().pod(key.substring(0, slash), key.substring(slash + 1));
    if (cached.isEmpty()) {
      return Future.succeededFuture();
    }
    Pod p = cached.get();
    if (Pods.deleting(p)) {
      return deleting(p);
    }
    SandboxPhase phase = Pods.phase(p).orElse(null);
    if (phase == null) {
      return Future.succeededFuture();
    }
    if (phase == SandboxPhase.FAILED) {
      return lifecycle.finish(p, SandboxPhase.FAILED, "removed");
    }
    if (!Pods.hasFinalizer(p, Finalizers.SANDBOX_PROTECTION)) {
      // Backfill: every managed pod carries the protection finalizer for its whole life.
      Pod withFinalizer = PodTransitions.withFinalizer(p);
      return lifecycle.writer().update(withFinalizer).onSuccess(x -> LOG.info("pod {} given the protection finalizer", key));
    }
    Optional<Pods.PodFailure> failure = Pods.failure(p);
    if (failure.isPresent()) {
      switch (phase) {
        case STARTING, RUNNING -> {
          return lifecycle.fail(p, failure.get()); // the sandbox's own image or process failed
        }
        case STOPPING -> {
          // The sandbox ended as released; it is the idle image that cannot start again: no
          // recycling, the pod is removed (and replaced) with the sandbox recorded as it ended.
          return lifecycle.finish(p, SandboxPhase.STOPPING, "removed");
        }
        default -> {
          if (terminated(p)) {
            return lifecycle.finish(p, phase, "removed"); // evicted, node lost: never runs again
          }
          // An idle pod in back-off (a bad idle image, a crashing idle process) stays as it is:
          // NotReady, it is not claimable, counts in unavailableIdleReplicas and makes the pool
          // Degraded (UnhealthyIdlePods), and recovers by itself once the image pulls. Deleting it
          // would only have it recreated, failing the same way, in a loop.
          return Future.succeededFuture();
        }
      }
    }
    Optional<Future<?>> duplicate = resolveDuplicates(p, phase);
    if (duplicate.isPresent()) {
      return duplicate.get();
    }
    return switch (phase) {
      case STARTING -> starting(p);
      case STOPPING -> stopping(p);
      default -> Future.succeededFuture();
    };
  }

  /** The pod itself has ended (phase Failed or Succeeded): its containers will not run again. */
  private static boolean terminated(Pod p) {
    String podPhase = p.getStatus() == null ? null : p.getStatus().getPhase();
    return "Failed".equals(podPhase) || "Succeeded".equals(podPhase);
  }

  /**
   * Two replicas that claim for the same sandbox at the same moment (an idempotent retry sent to
   * both) each get a pod. One sandbox must live on one pod: the one claimed first (then by name)
   * keeps it. When {@code p} is another holder, it is released (the returned write). When {@code p}
   * keeps it, the other holders are looked at now, each then released on its own pass, rather than
   * at its next event (a container still pulling may have none for minutes) or the resync.
   */
  private Optional<Future<?>> resolveDuplicates(Pod p, SandboxPhase phase) {
    String id = Pods.sandboxId(p);
    if (id == null || (phase != SandboxPhase.STARTING && phase != SandboxPhase.RUNNING)) {
      return Optional.empty();
    }
    List<Pod> holders = lifecycle.cache().podsBySandboxId(id);
    if (holders.size() < 2) {
      return Optional.empty();
    }
    String self = PodWriter.key(p);
    // p itself is starting or running and not being deleted, so the keeper is one such holder.
    Optional<Pod> keeper = Pods.holder(holders).filter(first -> !PodWriter.key(first).equals(self));
    if (keeper.isPresent()) {
      return Optional.of(lifecycle.releaseDuplicate(p, keeper.get()));
    }
    holders.stream().filter(h -> Pods.live(h) && !PodWriter.key(h).equals(self)).forEach(h -> queue.submit(PodWriter.key(h)));
    return Optional.empty();
  }


  private Future<?> starting(Pod p) {
    // Every container on its spec image: a sandbox that swaps only a sidecar is not running
    // until that sidecar has restarted on its new image.
    if (!Pods.startedOnSpecImages(p)) {
      return Future.succeededFuture();
    }
    return lifecycle.writer().update(PodTransitions.running(p, lifecycle.clock().instant())).onSuccess(running -> {
      lifecycle.transition(SandboxPhase.STARTING, SandboxPhase.RUNNING.wire());
      LOG.info("sandbox {} running on pod {}/{}", Pods.sandboxId(running), Pods.namespace(running), Pods.name(running));
      vertx.eventBus().publish(Bus.SANDBOX_RUNNING,
          new Bus.SandboxRunning(SandboxRecords.of(running, SandboxStatus.RUNNING, null, null)));
    });
  }

  /**
   * stopping → idle only on a fresh container running the idle image: the release must have
   * swapped the image and the container id must differ from the one the sandbox used; every other
   * container the release swapped back must be up on its image again. A pod whose image was never
   * swapped (the sandbox ran the idle image) is removed instead.
   */
  private Future<?> stopping(Pod p) {
    Optional<String> idle = lifecycle.idleImage(p);
    String ran = Lifecycle.ranImage(p);
    if (idle.isEmpty() || ran == null || ran.equals(idle.get()) || !idle.get().equals(Pods.specImage(p))) {
      return lifecycle.finish(p, SandboxPhase.STOPPING, "removed");
    }
    String usedContainer = Pods.annotation(p, Annotations.CONTAINER_ID);
    String current = Pods.containerId(p);
    // The first container's spec image is the idle image (checked above).
    if (!Pods.startedOnSpecImages(p) || current == null || Objects.equals(current, usedContainer)) {
      return Future.succeededFuture();
    }
    return lifecycle.record(p)
        .compose(v -> lifecycle.writer().update(PodTransitions.recycled(p)))
        .onSuccess(x -> {
          lifecycle.transition(SandboxPhase.STOPPING, SandboxPhase.IDLE.wire());
          LOG.info("pod {}/{} recycled to idle", Pods.namespace(p), Pods.name(p));
        });
  }

  /**
   * A pod deleted from outside (kubectl delete, eviction, pool deletion): the finalizer holds it
   * until the sandbox it held is on record.
   */
  private Future<?> deleting(Pod p) {
    if (!Pods.hasFinalizer(p, Finalizers.SANDBOX_PROTECTION)) {
      return Future.succeededFuture();
    }
    boolean poolGone = lifecycle.cache().pool(Pods.namespace(p), Pods.pool(p)).map(Pods::deleting).orElse(true);
    return lifecycle.finish(PodTransitions.deletedFromOutside(p, poolGone ? "PoolDeleted" : "PodDeleted", lifecycle.clock().instant()));
  }
}
