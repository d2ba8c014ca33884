package sh.navix.agentbox.gateway.http;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;

/**
 * Read-your-writes for sandbox ids this replica's informer cache has not shown yet. A create is
 * answered as soon as the claim write succeeds, so the caller's next GET or DELETE can arrive
 * before the watch event of that write. This remembers the sandboxes claimed here for a short
 * while (so their lookups skip asking the API server), and wakes lookups waiting for an id on the
 * pod events that follow, not on a timer. Event-loop confined, like the API that owns it.
 */
final class CacheCatchUp {
  /** How long a sandbox claimed here counts as "just created". */
  static final Duration CREATED_MEMORY = Duration.ofSeconds(10);

  private final Vertx vertx;
  private final ClusterCache cache;
  /** Sandbox id → when it stops counting as just created (System.nanoTime), oldest first. */
  private final LinkedHashMap<String, Long> created = new LinkedHashMap<>();
  /** Sandbox id → lookups waiting for the cache to show it. */
  private final Map<String, List<Promise<Void>>> waiting = new HashMap<>();

  CacheCatchUp(Vertx vertx, ClusterCache cache) {
    this.vertx = vertx;
    this.cache = cache;
    vertx.eventBus().<Bus.PodChanged>consumer(Bus.POD_CHANGED, m -> wake());
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

  /** Number of lookups waiting (for tests and metrics). */
  int waiting() {
    return waiting.values().stream().mapToInt(List::size).sum();
  }

  /** Completes once the cache shows the sandbox's pod; fails after {@code max}. */
  Future<Void> whenCached(String sandboxId, Duration max) {
    if (cache.podBySandboxId(sandboxId).isPresent()) {
      return Future.succeededFuture();
    }
    Promise<Void> p = Promise.promise();
    waiting.computeIfAbsent(sandboxId, k -> new ArrayList<>()).add(p);
    long timer = vertx.setTimer(Math.max(1, max.toMillis()), t -> p.tryFail("sandbox " + sandboxId + " not in the cache after " + max));
    return p.future().andThen(ar -> {
      vertx.cancelTimer(timer);
      List<Promise<Void>> l = waiting.get(sandboxId);
      if (l != null && l.remove(p) && l.isEmpty()) {
        waiting.remove(sandboxId);
      }
    });
  }

  private void wake() {
    if (waiting.isEmpty()) {
      return;
    }
    List<Promise<Void>> ready = new ArrayList<>();
    waiting.forEach((id, l) -> {
      if (cache.podBySandboxId(id).isPresent()) {
        ready.addAll(l);
      }
    });
    ready.forEach(Promise::tryComplete);
  }
}
