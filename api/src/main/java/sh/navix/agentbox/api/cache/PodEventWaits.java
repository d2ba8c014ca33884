package sh.navix.agentbox.api.cache;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.bus.BusConsumer;

/**
 * Waits until a condition on the cluster cache holds, checked again on every pod event
 * ({@link Bus#POD_CHANGED}, published after the cache has applied the change) rather than on a
 * timer: how a writer waits for the cache to show its own write, or a newer one. Create it on the
 * Vert.x context that uses it; it is confined to that context. Waits are few and short-lived, so
 * each event checks them all.
 */
public final class PodEventWaits {
  private final Vertx vertx;
  private final List<Waiter> waiting = new ArrayList<>();
  private final BusConsumer<Bus.PodChanged> events;

  private record Waiter(BooleanSupplier condition, Promise<Void> done) {}

  public PodEventWaits(Vertx vertx) {
    this.vertx = vertx;
    // An event that comes after close() has nothing left to wake.
    this.events = BusConsumer.on(vertx, Bus.POD_CHANGED, m -> wake(), m -> {});
  }

  /** Completes once {@code condition} holds (now or after a pod event); fails after {@code max}. */
  public Future<Void> until(BooleanSupplier condition, Duration max) {
    if (condition.getAsBoolean()) {
      return Future.succeededFuture();
    }
    Waiter w = new Waiter(condition, Promise.promise());
    waiting.add(w);
    long timer = vertx.setTimer(Math.max(1, max.toMillis()), t -> w.done().tryFail("not seen in the cache within " + max));
    return w.done().future().andThen(ar -> {
      vertx.cancelTimer(timer);
      waiting.remove(w);
    });
  }

  /** Stops listening; waits still pending end at their deadline. */
  public Future<Void> close() {
    return events.unregister();
  }

  private void wake() {
    if (waiting.isEmpty()) {
      return;
    }
    for (Waiter w : List.copyOf(waiting)) {
      if (w.condition().getAsBoolean()) {
        w.done().tryComplete();
      }
    }
  }
}
