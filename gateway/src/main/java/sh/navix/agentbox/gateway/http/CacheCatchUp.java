package sh.navix.agentbox.gateway.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.cache.PodEventWaits;

/**
 * Read-your-writes for sandbox ids this replica's informer cache has not shown yet. A create is
 * answered as soon as the claim write succeeds, so the caller's next GET or DELETE can arrive
 * before the watch event of that write. This remembers the sandboxes claimed here for a short
 * while (so their lookups skip asking the API server); lookups wait for the cache with
 * {@link PodEventWaits}. Event-loop confined, like the API that owns it.
 */
final class CacheCatchUp {
  /** How long a sandbox claimed here counts as "just created". */
  static final Duration CREATED_MEMORY = Duration.ofSeconds(10);

  private final ClusterCache cache;
  /** Sandbox id → when it stops counting as just created (System.nanoTime), oldest first. */
  private final LinkedHashMap<String, Long> created = new LinkedHashMap<>();
  private final PodEventWaits waits;

  CacheCatchUp(Vertx vertx, ClusterCache cache) {
    this.cache = cache;
    this.waits = new PodEventWaits(vertx);
  }

  /** A claim of this replica succeeded for {@code sandboxId}. */
  void created(String sandboxId) {
    long now = System.nanoTime();
    for (Iterator<Long> it = created.values().iterator(); it.hasNext(); ) {
      if (now - it.next() < 0) {
        break;
      }
      it.remove();
    }
    created.remove(sandboxId);
    created.put(sandboxId, now + CREATED_MEMORY.toNanos());
  }

  /** Whether this replica claimed the sandbox a moment ago. */
  boolean createdHere(String sandboxId) {
    Long until = created.get(sandboxId);
    return until != null && System.nanoTime() - until < 0;
  }

  /** Stops listening to pod events. */
  Future<Void> close() {
    return waits.close();
  }

  /** Completes once the cache shows the sandbox's pod; fails after {@code max}. */
  Future<Void> whenCached(String sandboxId, Duration max) {
    return waits.until(() -> cache.podBySandboxId(sandboxId).isPresent(), max);
  }
}
