package sh.navix.agentbox.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;

/**
 * Closes a Vert.x instance so that the caller hears back. A close started on one of the
 * instance's own threads completes a future bound to a context that the close itself shuts
 * down, so its listeners may never run; started from a plain thread, it always completes.
 */
public final class VertxClose {
  private VertxClose() {}

  public static Future<Void> close(Vertx vertx) {
    CompletableFuture<Void> closed = new CompletableFuture<>();
    Thread t = new Thread(
        () -> vertx.close().toCompletionStage().whenComplete((v, e) -> closed.complete(null)), "agentbox-vertx-close");
    t.setDaemon(true);
    t.start();
    // Never let shutdown hang on a stuck close.
    return Future.fromCompletionStage(closed.completeOnTimeout(null, 10, java.util.concurrent.TimeUnit.SECONDS));
  }
}
