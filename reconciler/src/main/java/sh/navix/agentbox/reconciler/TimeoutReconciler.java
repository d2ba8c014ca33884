package sh.navix.agentbox.reconciler;

import sh.navix.agentbox.api.lifecycle.KubeErrors;
import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.Timeouts;

/**
 * Startup and idle timeouts (leader only), checked every tick from the cache's pool+phase index:
 * a starting sandbox past its startup timeout fails with StartupTimeout (the pod is then removed
 * and replaced); a running sandbox idle past its idle timeout plus the activity flush lag is
 * released with failure reason IdleTimeout; a pod still stopping {@code stoppingTimeout} after its
 * sandbox ended is removed (and replaced).
 */
public final class TimeoutReconciler extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(TimeoutReconciler.class);

  private final Lifecycle lifecycle;
  private final ReconcilerOptions options;
  /** Pods with a timeout write in flight, so one tick does not stack writes on the next. */
  private final Set<String> busy = new HashSet<>();
  private long timer = -1;

  public TimeoutReconciler(Lifecycle lifecycle, ReconcilerOptions options) {
    this.lifecycle = lifecycle;
    this.options = options;
  }

  @Override
  public Future<?> start() {
    timer = vertx.setPeriodic(options.tick.toMillis(), id -> scan());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }

  void scan() {
    Instant now = lifecycle.clock().instant();
    for (SandboxPool pool : lifecycle.cache().pools()) {
      String ns = pool.getMetadata().getNamespace();
      String name = pool.getMetadata().getName();
      for (Pod p : lifecycle.cache().pods(ns, name, SandboxPhase.STARTING)) {
        Optional<Instant> deadline = Timeouts.startupDeadline(p, pool);
        if (deadline.isPresent() && !deadline.get().isAfter(now) && !Pods.deleting(p)) {
          run(p, () -> lifecycle.fail(p, new Pods.PodFailure("StartupTimeout",
              "sandbox did not become ready within " + Timeouts.startupTimeout(p, pool).orElseThrow().toSeconds() + "s", null)));
        }
      }
      for (Pod p : lifecycle.cache().pods(ns, name, SandboxPhase.STOPPING)) {
        Optional<Instant> deadline = Timeouts.stoppingDeadline(p, options.stoppingTimeout);
        if (deadline.isPresent() && !deadline.get().isAfter(now) && !Pods.deleting(p)) {
          // The idle image never came back up (a pull that hangs, a kubelet that never restarted
          // the container): the pod is removed with its sandbox on record, and the pool replaces it.
          run(p, () -> lifecycle.finish(p, SandboxPhase.STOPPING, "removed").onSuccess(v -> {
            LOG.warn("pod {}/{} was still stopping {}s after its sandbox {} ended: removed, the pool replaces it",
                ns, Pods.name(p), options.stoppingTimeout.toSeconds(), Pods.sandboxId(p));
          }));
        }
      }
      for (Pod p : lifecycle.cache().pods(ns, name, SandboxPhase.RUNNING)) {
        Optional<Instant> deadline = Timeouts.idleDeadline(p);
        if (deadline.isPresent() && !deadline.get().isAfter(now) && !Pods.deleting(p)) {
          run(p, () -> lifecycle.release(p, SandboxStopReason.Released, "IdleTimeout", "no activity within the idle timeout"));
        }
      }
    }
  }

  private void run(Pod p, java.util.function.Supplier<Future<?>> write) {
    String key = PodWriter.key(p);
    if (!busy.add(key)) {
      return;
    }
    write.get()
        .onFailure(e -> {
          if (!KubeErrors.conflict(e) && !(e instanceof WriteLimiter.Dropped)) {
            LOG.warn("timeout handling of pod {} failed: {}", key, e.toString());
          }
        })
        .onComplete(ar -> busy.remove(key));
  }
}
