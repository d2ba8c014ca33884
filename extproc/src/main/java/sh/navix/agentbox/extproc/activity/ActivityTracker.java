package sh.navix.agentbox.extproc.activity;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.Timeouts;

/**
 * Who used which sandbox, and when. Every routed request and every open tunnel (WebSocket through
 * the proxy, long-lived connections reported by Envoy's access log) is recorded in memory — a map
 * update, no I/O on the request path. A periodic flush writes the {@code last-active} pod
 * annotation when activity advanced, at most once per min(120 s, idleTimeout / 3) per sandbox
 * (with jitter, so sandboxes do not flush in step), batched and off the event loop. Whatever the
 * request rate, a sandbox costs at most one API write per interval.
 *
 * <p>With several replicas, each sees part of a sandbox's traffic and keeps its own record. A
 * replica leaves a due write out when the pod (in its cache) already shows a last-active that
 * makes it pointless, or one that another replica wrote less than 0.9 intervals ago: that replica
 * writes on its own schedule, so this one looks again half an interval after the other's next
 * write is due, and writes then only if none came. It waits so only when the idle deadline the
 * annotation gives is later than that look (and a failed write's retry after it). So the replica
 * that wrote first goes on writing, the others stand by half an interval out of step with it
 * (clear of its jitter), a sandbox used through every replica costs about one write per interval,
 * not one per replica, and no activity reaches the annotation later than the idle-timeout check
 * allows for.
 */
public final class ActivityTracker {
  private static final Logger LOG = LoggerFactory.getLogger(ActivityTracker.class);

  /** How soon a failed last-active write is tried again (at most; the interval when that is shorter). */
  static final long RETRY_AFTER_FAILURE_MILLIS = 5_000;

  private final Vertx vertx;
  private final KubernetesClient client;
  private final ClusterCache cache;
  private final Duration tick;
  private final Map<String, State> sandboxes = new ConcurrentHashMap<>();
  private final Counter writes;
  private final Counter writeFailures;
  private final Counter writesSkipped;
  private long timer = -1;
  private boolean flushing;

  /** Per sandbox: last request time, open tunnels, requests in progress, and what was written when. */
  static final class State implements Request {
    volatile long lastSeenMillis;
    final AtomicInteger tunnels = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    long writtenMillis;
    long nextFlushMillis;
    /** The flush interval {@link #nextFlushMillis} was computed with. */
    long intervalMillis;

    boolean ongoing() {
      return tunnels.get() > 0 || requests.get() > 0;
    }

    @Override
    public void ended() {
      end(requests);
    }

    /** Something counted in {@code which} ended (never below zero), and it counts as activity. */
    void end(AtomicInteger which) {
      lastSeenMillis = System.currentTimeMillis();
      which.updateAndGet(n -> Math.max(0, n - 1));
    }
  }

  /** A proxied request in progress, counted as activity of its sandbox until {@link #ended}. */
  public interface Request {
    void ended();
  }

  public ActivityTracker(Vertx vertx, KubernetesClient client, ClusterCache cache, MeterRegistry registry, Duration tick) {
    this.vertx = vertx;
    this.client = client;
    this.cache = cache;
    this.tick = tick;
    this.writes = Counter.builder("agentbox_activity_writes_total").description("last-active annotation writes").register(registry);
    this.writeFailures = Counter.builder("agentbox_activity_write_failures_total").description("last-active writes that failed").register(registry);
    this.writesSkipped = Counter.builder("agentbox_activity_writes_skipped_total")
        .description("Due last-active writes left out because the pod already showed a last-active as recent (another replica's)").register(registry);
    io.micrometer.core.instrument.Gauge.builder("agentbox_activity_open_tunnels", sandboxes,
        m -> m.values().stream().mapToInt(s -> s.tunnels.get()).sum()).description("Open WebSocket/tunnel connections").register(registry);
  }

  /** A request was routed to {@code sandboxId}. Thread-safe and allocation-light: the hot path. */
  public void touch(String sandboxId) {
    sandboxes.computeIfAbsent(sandboxId, k -> new State()).lastSeenMillis = System.currentTimeMillis();
  }

  /**
   * A proxied request to the sandbox began; until the returned request has {@link Request#ended}
   * the sandbox counts as active, so a long request (a blocking exec, a slow download) is never
   * taken for idleness. The handle saves the hot path a second lookup when the request ends.
   */
  public Request requestStarted(String sandboxId) {
    return began(sandboxId, s -> s.requests);
  }

  /** A long-lived connection to the sandbox opened; while any is open the sandbox counts as active. */
  public void tunnelOpened(String sandboxId) {
    began(sandboxId, s -> s.tunnels);
  }

  public void tunnelClosed(String sandboxId) {
    State s = sandboxes.get(sandboxId);
    if (s != null) {
      s.end(s.tunnels);
    }
  }

  /** Something ongoing began: counted in {@code which} until it ends. */
  private State began(String sandboxId, java.util.function.Function<State, AtomicInteger> which) {
    State s = sandboxes.computeIfAbsent(sandboxId, k -> new State());
    which.apply(s).incrementAndGet();
    s.lastSeenMillis = System.currentTimeMillis();
    return s;
  }

  /** When this replica last saw activity for the sandbox. */
  public Optional<Instant> lastSeen(String sandboxId) {
    State s = sandboxes.get(sandboxId);
    return s == null ? Optional.empty() : Optional.of(Instant.ofEpochMilli(s.lastSeenMillis));
  }

  /** Open tunnels of a sandbox on this replica. */
  public int openTunnels(String sandboxId) {
    State s = sandboxes.get(sandboxId);
    return s == null ? 0 : s.tunnels.get();
  }

  public void start() {
    timer = vertx.setPeriodic(tick.toMillis(), id -> flush());
  }

  public void stop() {
    vertx.cancelTimer(timer);
  }

  /** One last-active write a flush makes, and what to restore if it fails. */
  private record Due(State state, Pod pod, long activity, long writtenBefore, long interval) {}

  /** Writes last-active for every sandbox whose activity advanced and whose interval has passed. */
  Future<Void> flush() {
    if (flushing) {
      return Future.succeededFuture();
    }
    long now = System.currentTimeMillis();
    List<Due> due = new ArrayList<>();
    for (Map.Entry<String, State> e : sandboxes.entrySet()) {
      String id = e.getKey();
      State s = e.getValue();
      Optional<Pod> pod = cache.podBySandboxId(id);
      if (pod.isEmpty()) {
        if (!s.ongoing() && now - s.lastSeenMillis > 60_000) {
          sandboxes.remove(id, s); // released or never existed: forget it
        }
        continue;
      }
      long activity = s.ongoing() ? now : s.lastSeenMillis;
      long interval = interval(pod.get()).toMillis();
      if (interval < s.intervalMillis) {
        // The idle timeout was shortened (PUT /timeout): the flush planned for the old, longer
        // interval would come after the new deadline.
        s.nextFlushMillis = Math.min(s.nextFlushMillis, now + interval);
        s.intervalMillis = interval;
      }
      if (activity <= s.writtenMillis || now < s.nextFlushMillis) {
        continue;
      }
      long jitter = (long) (interval * 0.1 * (ThreadLocalRandom.current().nextDouble() * 2 - 1));
      if (covered(pod.get(), activity)) {
        s.writtenMillis = activity; // the annotation already says as much as this write would
        s.nextFlushMillis = now + interval + jitter;
        s.intervalMillis = interval;
        writesSkipped.increment();
        continue;
      }
      long lookAgain = othersWrite(pod.get(), s.writtenMillis, now, interval, tick.toMillis());
      if (lookAgain > 0) {
        s.nextFlushMillis = lookAgain;
        s.intervalMillis = interval;
        writesSkipped.increment();
        continue;
      }
      due.add(new Due(s, pod.get(), activity, s.writtenMillis, interval));
      s.writtenMillis = activity;
      s.nextFlushMillis = now + interval + jitter;
      s.intervalMillis = interval;
    }
    if (due.isEmpty()) {
      return Future.succeededFuture();
    }
    flushing = true;
    // Each write on a Vert.x worker (the worker pool bounds how many run at once); its outcome is
    // handled back on this context, which owns the per-sandbox state.
    List<Future<Void>> writes = new ArrayList<>();
    for (Due d : due) {
      writes.add(vertx.executeBlocking(() -> write(d.pod(), d.activity()), false).map(written -> {
        if (!written) {
          // Not written (API timeout, 429, 5xx): try again soon, not an interval later, since the
          // pod's annotation is now older than the idle-timeout reconciler assumes.
          d.state().writtenMillis = d.writtenBefore();
          d.state().nextFlushMillis = System.currentTimeMillis() + Math.min(d.interval(), RETRY_AFTER_FAILURE_MILLIS);
        }
        return null;
      }));
    }
    return Future.join(writes).<Void>mapEmpty().eventually(() -> {
      flushing = false;
      return Future.succeededFuture();
    });
  }

  /**
   * The pod already shows a last-active no earlier than {@code activityMillis} as it would be
   * written (whole seconds): writing it would change nothing.
   */
  static boolean covered(Pod p, long activityMillis) {
    Instant written = Instant.ofEpochMilli(activityMillis).truncatedTo(ChronoUnit.SECONDS);
    return Pods.time(p, Annotations.LAST_ACTIVE).map(shown -> !shown.isBefore(written)).orElse(false);
  }

  /**
   * When to look again instead of writing now, or 0 to write now. Not 0 when the pod's last-active
   * is not this replica's own last write ({@code ownWrittenMillis}, as written: whole seconds), is
   * less than 0.9 intervals old (another replica writes it on its own schedule, the next due an
   * interval after it, give or take its 10 % jitter), and the idle deadline it gives (if the
   * sandbox has an idle timeout) is later than the latest this replica's activity would go out if
   * left out now: at the look again, half an interval after the other replica's next write is due,
   * plus a tick, plus {@link #RETRY_AFTER_FAILURE_MILLIS} if that write fails.
   */
  static long othersWrite(Pod p, long ownWrittenMillis, long now, long intervalMillis, long tickMillis) {
    Optional<Instant> shown = Pods.time(p, Annotations.LAST_ACTIVE);
    if (shown.isEmpty()) {
      return 0;
    }
    long written = shown.get().toEpochMilli();
    if (written == Instant.ofEpochMilli(ownWrittenMillis).truncatedTo(ChronoUnit.SECONDS).toEpochMilli()
        || now - written >= intervalMillis * 9 / 10) {
      return 0;
    }
    long lookAgain = written + intervalMillis * 3 / 2; // later than now: it is under 0.9 intervals old
    long latestWrite = lookAgain + tickMillis + RETRY_AFTER_FAILURE_MILLIS;
    boolean inTime = Timeouts.idleDeadline(p).map(deadline -> deadline.toEpochMilli() > latestWrite).orElse(true);
    return inTime ? lookAgain : 0;
  }

  /** How often a sandbox's activity reaches its pod: min(120 s, idleTimeout / 3), at least one second. */
  static Duration interval(Pod p) {
    Duration d = Pods.duration(p, Annotations.IDLE_TIMEOUT).map(Timeouts::flushInterval).orElse(Timeouts.MAX_FLUSH_INTERVAL);
    return d.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : d;
  }

  /** Writes last-active; false when the write failed. Blocking: runs on a worker. */
  private boolean write(Pod p, long activityMillis) {
    String patch = Json.encode(Map.of("metadata", Map.of("annotations",
        Map.of(Annotations.LAST_ACTIVE, PodTransitions.rfc3339(Instant.ofEpochMilli(activityMillis))))));
    try {
      // A merge patch of one annotation, no resourceVersion: activity never conflicts with lifecycle writes.
      client.pods().inNamespace(Pods.namespace(p)).withName(Pods.name(p)).patch(PatchContext.of(PatchType.JSON_MERGE), patch);
      writes.increment();
      return true;
    } catch (RuntimeException e) {
      writeFailures.increment();
      LOG.debug("last-active of {} not written: {}", Pods.name(p), e.toString());
      return false;
    }
  }
}
