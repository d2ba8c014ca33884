package sh.navix.agentbox.api.lifecycle;

import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import sh.navix.agentbox.api.GoDuration;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPool;

/** Startup and idle timeouts of a sandbox, and the activity flush lag both sides agree on. */
public final class Timeouts {
  private Timeouts() {}

  /** Upper bound of the activity flush interval. */
  public static final Duration MAX_FLUSH_INTERVAL = Duration.ofSeconds(120);

  /**
   * How often activity is flushed to the last-active annotation for a sandbox with this idle
   * timeout: min(120 s, idleTimeout / 3). The idle-timeout check adds it as slack.
   */
  public static Duration flushInterval(Duration idleTimeout) {
    Duration third = idleTimeout.dividedBy(3);
    return third.compareTo(MAX_FLUSH_INTERVAL) < 0 ? third : MAX_FLUSH_INTERVAL;
  }

  /**
   * Times in annotations are written in whole seconds (RFC 3339, as the reference writes them),
   * so the moment one names may be up to this much before the event: deadlines count from the end
   * of that second, and a timeout never fires early.
   */
  public static final Duration ANNOTATION_TIME_RESOLUTION = Duration.ofSeconds(1);

  /** The pod's startup timeout annotation, else the pool's defaultStartupTimeout, else none. */
  public static Optional<Duration> startupTimeout(Pod p, SandboxPool pool) {
    Optional<Duration> own = Pods.duration(p, Annotations.STARTUP_TIMEOUT);
    return own.isPresent() || pool == null ? own : GoDuration.parseLenient(pool.getSpec().getDefaultStartupTimeout());
  }

  /** When a starting sandbox times out, if it has a startup timeout. */
  public static Optional<Instant> startupDeadline(Pod p, SandboxPool pool) {
    Optional<Instant> claimed = Pods.time(p, Annotations.CLAIMED_AT);
    Optional<Duration> timeout = startupTimeout(p, pool);
    return claimed.isPresent() && timeout.isPresent()
        ? Optional.of(claimed.get().plus(ANNOTATION_TIME_RESOLUTION).plus(timeout.get())) : Optional.empty();
  }

  /** When a pod still stopping counts as stuck: its sandbox's terminated-at plus {@code timeout}. */
  public static Optional<Instant> stoppingDeadline(Pod p, Duration timeout) {
    return Pods.time(p, Annotations.TERMINATED_AT).map(t -> t.plus(ANNOTATION_TIME_RESOLUTION).plus(timeout));
  }

  /**
   * When a running sandbox counts as idle: last-active (else started-at) plus its idle timeout
   * plus the flush interval, since activity reaches the annotation that late. None without an
   * idle timeout.
   */
  public static Optional<Instant> idleDeadline(Pod p) {
    Optional<Duration> timeout = Pods.duration(p, Annotations.IDLE_TIMEOUT);
    if (timeout.isEmpty()) {
      return Optional.empty();
    }
    Optional<Instant> last = Pods.time(p, Annotations.LAST_ACTIVE);
    Optional<Instant> started = Pods.time(p, Annotations.STARTED_AT);
    Optional<Instant> from = last.isPresent() && started.isPresent()
        ? Optional.of(last.get().isAfter(started.get()) ? last.get() : started.get())
        : last.or(() -> started);
    return from.map(t -> t.plus(ANNOTATION_TIME_RESOLUTION).plus(timeout.get()).plus(flushInterval(timeout.get())));
  }
}
