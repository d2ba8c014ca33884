package sh.navix.agentbox.reconciler;

import sh.navix.agentbox.api.lifecycle.KubeErrors;
import io.vertx.core.Future;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the work for a key at most once at a time and coalesces bursts: a key submitted while its
 * work runs is run once more afterwards, however many times it was submitted. Single-threaded:
 * use it from one Vert.x context (a verticle's).
 */
final class KeyedQueue {
  private static final Logger LOG = LoggerFactory.getLogger(KeyedQueue.class);

  private final String name;
  private final Function<String, Future<?>> work;
  /** Key → whether it was submitted again while running. */
  private final Map<String, Boolean> running = new HashMap<>();
  private boolean closed;

  KeyedQueue(String name, Function<String, Future<?>> work) {
    this.name = name;
    this.work = work;
  }

  void submit(String key) {
    if (closed || key == null) {
      return;
    }
    if (running.containsKey(key)) {
      running.put(key, true);
      return;
    }
    running.put(key, false);
    run(key);
  }

  private void run(String key) {
    Future<?> f;
    try {
      f = work.apply(key);
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    f.onComplete(ar -> {
      if (ar.failed() && !closed) { // once closed (leadership ended), outcomes no longer matter
        if (KubeErrors.conflict(ar.cause()) || KubeErrors.gone(ar.cause())) {
          // Someone changed or removed the object first; its event brings the key back.
          LOG.debug("{} {}: {}", name, key, ar.cause().toString());
        } else {
          LOG.warn("{} {}: {}", name, key, ar.cause().toString());
        }
      }
      if (Boolean.TRUE.equals(running.get(key)) && !closed) {
        running.put(key, false);
        run(key);
      } else {
        running.remove(key);
      }
    });
  }

  void close() {
    closed = true;
  }
}
