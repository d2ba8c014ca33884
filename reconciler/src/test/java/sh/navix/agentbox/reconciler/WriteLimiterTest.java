package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The bound on the reconcilers' writes in flight, with writes whose answers the test gives. */
class WriteLimiterTest {
  final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Writes, each answered when the test completes its promise; {@code started} in the order they went out. */
  final List<Promise<String>> answers = new CopyOnWriteArrayList<>();
  final List<Integer> started = new CopyOnWriteArrayList<>();

  Future<String> write(int n) {
    started.add(n);
    Promise<String> p = Promise.promise();
    answers.add(p);
    return p.future();
  }

  @Test
  void atMostTheLimitAreInFlightAndTheRestGoOutInTheOrderAsked() throws Exception {
    WriteLimiter limiter = new WriteLimiter(vertx, 3);
    Context context = vertx.getOrCreateContext();
    List<Future<String>> results = submitWrites(limiter, context, 8);
    assertThat(started).containsExactly(0, 1, 2);
    assertThat(limiter.inFlight()).isEqualTo(3);
    assertThat(limiter.waiting()).isEqualTo(5);

    // Answers in any order free a slot each; the next waiting write takes it.
    onContext(context, () -> answers.get(1).complete("one"));
    awaitStarted(4);
    assertThat(started).containsExactly(0, 1, 2, 3);
    onContext(context, () -> {
      answers.get(0).fail(new IllegalStateException("409"));
      answers.get(2).complete("two");
    });
    awaitStarted(6);
    assertThat(started).containsExactly(0, 1, 2, 3, 4, 5);
    assertThat(limiter.inFlight()).isEqualTo(3);
    assertThat(limiter.waiting()).isEqualTo(2);

    assertThat(results.get(1).await(5, TimeUnit.SECONDS)).isEqualTo("one");
    assertThatThrownBy(() -> results.get(0).await(5, TimeUnit.SECONDS)).hasMessageContaining("409");
    assertThat(results.get(3).isComplete()).as("still in flight").isFalse();

    for (int i = 3; i < 8; i++) {
      int n = i;
      awaitStarted(Math.min(8, n + 3));
      onContext(context, () -> answers.get(n).complete("w" + n));
    }
    for (int i = 3; i < 8; i++) {
      assertThat(results.get(i).await(5, TimeUnit.SECONDS)).isEqualTo("w" + i);
    }
    assertThat(started).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    assertThat(limiter.inFlight()).isZero();
    assertThat(limiter.waiting()).isZero();
  }

  /** A queued write starts, and its outcome arrives, on the context that asked for it, not on the one whose answer freed the slot. */
  @Test
  void aQueuedWriteRunsOnTheContextThatAskedForIt() throws Exception {
    WriteLimiter limiter = new WriteLimiter(vertx, 1);
    Context first = vertx.getOrCreateContext();
    Context second = vertx.getOrCreateContext();
    List<Context> startedOn = new CopyOnWriteArrayList<>();
    CompletableFuture<Context> answeredOn = new CompletableFuture<>();
    onContext(first, () -> limiter.submit(() -> write(0)));
    onContext(second, () -> limiter.submit(() -> {
      startedOn.add(Vertx.currentContext());
      return write(1);
    }).onComplete(ar -> answeredOn.complete(Vertx.currentContext())));
    assertThat(startedOn).isEmpty();

    onContext(first, () -> answers.get(0).complete("done"));
    awaitStarted(2);
    onContext(first, () -> answers.get(1).complete("done"));
    assertThat(answeredOn.get(5, TimeUnit.SECONDS)).isSameAs(second);
    assertThat(startedOn).containsExactly(second);
  }

  /** A write that throws instead of returning a future fails alone and frees its slot. */
  @Test
  void aWriteThatThrowsFreesItsSlot() throws Exception {
    WriteLimiter limiter = new WriteLimiter(vertx, 1);
    Context context = vertx.getOrCreateContext();
    List<Future<String>> results = new ArrayList<>();
    onContext(context, () -> {
      results.add(limiter.submit(() -> {
        throw new IllegalArgumentException("bad pod");
      }));
      results.add(limiter.submit(() -> write(1)));
    });
    assertThatThrownBy(() -> results.get(0).await(5, TimeUnit.SECONDS)).hasMessageContaining("bad pod");
    awaitStarted(1);
    onContext(context, () -> answers.get(0).complete("ok"));
    assertThat(results.get(1).await(5, TimeUnit.SECONDS)).isEqualTo("ok");
    assertThat(limiter.inFlight()).isZero();
  }

  /** A replica that stops leading drops the writes waiting their turn: they fail unsent; the one in flight goes on. */
  @Test
  void droppedWritesFailWithoutBeingSent() throws Exception {
    WriteLimiter limiter = new WriteLimiter(vertx, 1);
    Context context = vertx.getOrCreateContext();
    List<Future<String>> results = submitWrites(limiter, context, 3);
    assertThat(limiter.dropWaiting("stopped leading")).isEqualTo(2);
    for (Future<String> dropped : results.subList(1, 3)) {
      assertThatThrownBy(() -> dropped.await(5, TimeUnit.SECONDS)).isInstanceOf(WriteLimiter.Dropped.class).hasMessage("stopped leading");
    }
    onContext(context, () -> answers.get(0).complete("sent"));
    assertThat(results.get(0).await(5, TimeUnit.SECONDS)).isEqualTo("sent");
    assertThat(started).containsExactly(0);
    assertThat(limiter.inFlight()).isZero();
    assertThat(limiter.waiting()).isZero();
    assertThat(limiter.dropWaiting("again")).isZero();
  }

  @Test
  void aLimitBelowOneIsRefused() {
    assertThatThrownBy(() -> new WriteLimiter(vertx, 0)).hasMessageContaining("at least one");
  }

  /** Writes 0..n-1 asked for in that order on {@code context}; their outcomes, in the same order. */
  List<Future<String>> submitWrites(WriteLimiter limiter, Context context, int n) throws Exception {
    List<Future<String>> results = new ArrayList<>();
    onContext(context, () -> {
      for (int i = 0; i < n; i++) {
        int k = i;
        results.add(limiter.submit(() -> write(k)));
      }
    });
    return results;
  }

  /** Runs {@code r} on {@code context} and waits until it has run. */
  static void onContext(Context context, Runnable r) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        r.run();
        done.complete(null);
      } catch (RuntimeException e) {
        done.completeExceptionally(e);
      }
    });
    done.get(5, TimeUnit.SECONDS);
  }

  void awaitStarted(int n) {
    sh.navix.agentbox.devcluster.Await.until(n + " writes started", java.time.Duration.ofSeconds(5), () -> started.size() >= n ? true : null);
  }
}
