package sh.navix.agentbox.reconciler;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Bounds how many of the reconcilers' API writes are in flight at once; the rest wait here, first
 * come first served, and start as earlier ones answer.
 *
 * <p>Reconciles come in bursts: one watch event per pod claimed, a resync pass over every pod, a
 * batch of events the informer delivers late after a pause. Unbounded, a burst became hundreds
 * of simultaneous writes (800 measured on 2026-12-06), all queued at the API server ahead of the
 * claims users wait on; a real API server also refuses mutating requests past its in-flight limit
 * ({@code --max-mutating-requests-inflight}, 200 by default) with 429 for every client alike.
 * Queued here, a burst costs the reconcilers' own latency only.
 *
 * <p>Thread-safe: the verticles of the leader share one. A queued write starts on the Vert.x
 * context that asked for it, and its outcome comes back there.
 */
final class WriteLimiter {
  private final Vertx vertx;
  private final int max;
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  private int inFlight;

  WriteLimiter(Vertx vertx, int max) {
    if (max < 1) {
      throw new IllegalArgumentException("at least one write must be allowed in flight, got " + max);
    }
    this.vertx = vertx;
    this.max = max;
  }

  /** Starts {@code write} now if fewer than the maximum are in flight, else once its turn comes. */
  <T> Future<T> submit(Supplier<Future<T>> write) {
    Context context = vertx.getOrCreateContext();
    Promise<T> result = Promise.promise();
    Runnable start = () -> {
      Future<T> f;
      try {
        f = write.get();
      } catch (RuntimeException e) {
        f = Future.failedFuture(e);
      }
      f.onComplete(ar -> {
        done();
        if (Vertx.currentContext() == context) {
          result.handle(ar);
        } else {
          context.runOnContext(v -> result.handle(ar));
        }
      });
    };
    boolean now;
    synchronized (this) {
      now = inFlight < max;
      if (now) {
        inFlight++;
      } else {
        waiting.add(new Waiting(() -> context.runOnContext(v -> start.run()),
            e -> context.runOnContext(v -> result.fail(e))));
      }
    }
    if (now) {
      start.run();
    }
    return result.future();
  }

  /** A write answered: its slot goes to the first one waiting, if any. */
  private void done() {
    Waiting next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        inFlight--;
      }
    }
    if (next != null) {
      next.start().run();
    }
  }

  /**
   * Fails every write still waiting its turn, without sending it (those in flight go on); returns
   * how many. For a replica that stops leading: its decisions are the next leader's to make.
   */
  int dropWaiting(String why) {
    List<Waiting> dropped;
    synchronized (this) {
      dropped = new ArrayList<>(waiting);
      waiting.clear();
    }
    Dropped e = new Dropped(why);
    dropped.forEach(w -> w.drop().accept(e));
    return dropped.size();
  }

  /** The failure of a write dropped unsent by {@link #dropWaiting}. */
  static final class Dropped extends IllegalStateException {
    Dropped(String why) {
      super(why);
    }
  }

  private record Waiting(Runnable start, Consumer<Throwable> drop) {}

  synchronized int inFlight() {
    return inFlight;
  }

  synchronized int waiting() {
    return waiting.size();
  }
}
