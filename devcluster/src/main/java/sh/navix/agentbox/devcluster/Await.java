package sh.navix.agentbox.devcluster;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Deadline-bounded polling for tests and tools that watch the dev cluster from outside: wait
 * until a probe yields a value, failing with what was awaited when the deadline passes.
 */
public final class Await {
  private Await() {}

  /**
   * Polls {@code probe} every {@code interval} until it returns non-null and returns that value;
   * a probe that throws counts as "not yet". Throws AssertionError after {@code timeout}.
   */
  public static <T> T until(String what, Duration timeout, Duration interval, Supplier<T> probe) {
    Instant deadline = Instant.now().plus(timeout);
    while (true) {
      T v;
      try {
        v = probe.get();
      } catch (RuntimeException e) {
        v = null;
      }
      if (v != null) {
        return v;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      try {
        TimeUnit.NANOSECONDS.sleep(interval.toNanos()); // the poll interval of a deadline-bounded wait
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
    }
  }

  /** {@link #until(String, Duration, Duration, Supplier)} polling every 50 ms. */
  public static <T> T until(String what, Duration timeout, Supplier<T> probe) {
    return until(what, timeout, Duration.ofMillis(50), probe);
  }
}
