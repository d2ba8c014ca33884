package sh.navix.agentbox.reconciler;

import sh.navix.agentbox.api.lifecycle.KubeErrors;
import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.PodEventWaits;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.SandboxRecords;
import sh.navix.agentbox.api.model.ApiError;

/**
 * Answers {@link Bus#RELEASE} on every replica (not only the leader): releases the sandbox with a
 * compare-and-swap, retrying on the fresh cached pod when another writer got in first (typically
 * the phase reconciler marking a just-created sandbox running): the retry waits for the cache to
 * show that newer version, woken by its pod event, and reads the pod from the API server when the
 * cache has not shown it within {@link #NEWER_VERSION_WAIT} (under a burst the cache can lag by
 * more than that, and every attempt would otherwise lose again on the same stale version). Replies
 * with the sandbox as it now stands; an unknown id fails with 404.
 */
public final class ReleaseVerticle extends VerticleBase {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ReleaseVerticle.class);
  static final int ATTEMPTS = 5;
  /** Longest wait for the cache to show a pod newer than the one a release lost on; then the pod is read from the API server. */
  static final Duration NEWER_VERSION_WAIT = Duration.ofSeconds(1);

  private final Lifecycle lifecycle;
  private MessageConsumer<Bus.ReleaseRequest> consumer;
  private PodEventWaits waits;

  public ReleaseVerticle(Lifecycle lifecycle) {
    this.lifecycle = lifecycle;
  }

  @Override
  public Future<?> start() {
    consumer = vertx.eventBus().consumer(Bus.RELEASE, this::handle);
    waits = new PodEventWaits(vertx);
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    return Future.all(consumer.unregister(), waits.close());
  }

  private void handle(Message<Bus.ReleaseRequest> m) {
    release(m.body(), ATTEMPTS).onComplete(ar -> {
      if (ar.succeeded()) {
        m.reply(ar.result());
      } else if (ar.cause() instanceof ApiError e) {
        m.fail(e.status(), e.getMessage());
      } else {
        m.fail(503, ar.cause().toString());
      }
    });
  }

  Future<sh.navix.agentbox.api.model.Sandbox> release(Bus.ReleaseRequest r, int attempts) {
    return release(r, attempts, new HashSet<>());
  }

  /** {@code lost}: the resourceVersions this release already lost a write on (unique across the cluster). */
  private Future<sh.navix.agentbox.api.model.Sandbox> release(Bus.ReleaseRequest r, int attempts, Set<String> lost) {
    List<Pod> holders = lifecycle.cache().podsBySandboxId(r.sandboxId()).stream()
        .filter(p -> r.namespace() == null || r.namespace().equals(Pods.namespace(p)))
        .toList();
    if (holders.isEmpty()) {
      return Future.failedFuture(ApiError.notFound("sandbox " + r.sandboxId() + " not found"));
    }
    // Two holders only after a claim race between replicas (the leader is about to release the
    // later one): a release ends the sandbox on both; the answer is the pod it lived on.
    Pod main = Pods.holder(holders).orElseThrow();
    holders.stream().filter(h -> h != main).forEach(other -> release(other, r, attempts, new HashSet<>())
        .onFailure(e -> LOG.warn("sandbox {}: release of its second pod {} failed: {}", r.sandboxId(), Pods.name(other), e.toString())));
    return release(main, r, attempts, lost);
  }

  private Future<sh.navix.agentbox.api.model.Sandbox> release(Pod p, Bus.ReleaseRequest r, int attempts, Set<String> lost) {
    SandboxStopReason reason = r.reason() == null ? SandboxStopReason.Released : SandboxStopReason.valueOf(r.reason());
    return lifecycle.releaseForCaller(p, reason, r.failureReason(), r.failureMessage())
        .map(released -> SandboxRecords.of(released, SandboxRecords.liveStatus(released), null, null))
        .recover(e -> {
          if (KubeErrors.conflict(e) && attempts > 1) {
            lost.add(p.getMetadata().getResourceVersion());
            return newerThan(p, lost).compose(now -> now
                .filter(n -> r.sandboxId().equals(Pods.sandboxId(n)))
                .map(n -> release(n, r, attempts - 1, lost))
                .orElseGet(() -> release(r, attempts - 1, lost)));
          }
          return Future.failedFuture(e);
        });
  }

  /**
   * Pod {@code p} after a write on it lost: the cache's copy once it holds a version none of the
   * release's writes lost on (empty if the pod is gone); if it has not within
   * {@link #NEWER_VERSION_WAIT}, the API server's. (A copy read from the API server can be newer
   * than the cache's; going back to the cache's would lose on a version already lost on.)
   */
  private Future<Optional<Pod>> newerThan(Pod p, Set<String> lost) {
    Supplier<Optional<Pod>> cached = () -> lifecycle.cache().pod(Pods.namespace(p), Pods.name(p));
    return waits.until(() -> cached.get().map(c -> !lost.contains(c.getMetadata().getResourceVersion())).orElse(true), NEWER_VERSION_WAIT)
        .map(v -> cached.get())
        .recover(e -> lifecycle.writer().read(Pods.namespace(p), Pods.name(p)));
  }
}
