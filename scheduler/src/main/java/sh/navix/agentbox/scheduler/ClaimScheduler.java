package sh.navix.agentbox.scheduler;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.GoDuration;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.bus.BusConsumer;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.cache.PoolPodCounts;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.lifecycle.KubeErrors;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.PodUpdates;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.SandboxRecords;
import sh.navix.agentbox.api.model.ApiError;
import sh.navix.agentbox.api.model.AvailablePoolSummary;
import sh.navix.agentbox.api.model.AvailablePoolsDetail;
import sh.navix.agentbox.api.model.CreateSandboxInput;
import sh.navix.agentbox.api.model.PoolStatusDetail;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.api.model.SandboxStatus;

/**
 * The claim scheduler (one per replica, reached over {@link Bus#CLAIM}). Each pool has a FIFO
 * queue; requests are handed idle pods in arrival order, each claimed with one compare-and-swap
 * update of the pod as the cache last saw it. A 409 means another claimer (this replica or
 * another) won that pod, and a 404 that it was deleted since the cache saw it: either way the
 * request goes back to the head of the queue and gets another pod; unless, after a 409, the pod
 * turns out to hold this very sandbox (the client resent a write whose first attempt went
 * through), which is then the claim.
 * When no idle pod is left, requests wait, woken by pod events, until their wait budget runs
 * out (409 with the pool's counts and a retry hint).
 */
public final class ClaimScheduler extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ClaimScheduler.class);

  private final KubernetesClient client;
  private final ClusterCache cache;
  private final MeterRegistry registry;
  private final SchedulerOptions options;
  private final Map<String, PoolQueue> queues = new HashMap<>();
  /** Pods this replica is writing a claim to right now. */
  private final Set<String> podsInFlight = new HashSet<>();
  /**
   * Pod key → a resourceVersion this replica knows is out of date: it lost a claim race at it, or
   * claimed the pod from it (the cache still shows the pod idle until the claim's watch event
   * arrives). The pod is skipped while the cache shows that version, so a claim never races
   * this replica's own previous claims.
   */
  private final Map<String, String> staleAt = new HashMap<>();
  /** Pod key → when this replica's claim of it was answered, while the cache has not shown the claim yet. */
  private final Map<String, Long> unseenSince = new HashMap<>();
  /** Pool key → time of the last create request served, and what was last written to the pool. */
  private final Map<String, Instant> lastCreate = new HashMap<>();
  private final Map<String, Instant> lastCreateWritten = new HashMap<>();
  /** Sandbox id → a claim of it whose write outcome is unknown, still watched. */
  private final Map<String, Unconfirmed> unconfirmed = new HashMap<>();
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private BusConsumer<Bus.PodChanged> podEvents;
  private BusConsumer<Bus.PoolChanged> poolEvents;
  private final List<Long> timers = new ArrayList<>();
  private Counter conflicts;
  private Counter podsGone;
  private Timer cacheLag;

  public ClaimScheduler(KubernetesClient client, ClusterCache cache, MeterRegistry registry, SchedulerOptions options) {
    this.client = client;
    this.cache = cache;
    this.registry = registry;
    this.options = options;
  }

  /** One pool's FIFO queue of waiting claims. */
  private final class PoolQueue {
    final String namespace;
    final String pool;
    final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
    int inFlight;
    int mirrored;
    long mirroredAt;
    final Gauge length;

    PoolQueue(String namespace, String pool) {
      this.namespace = namespace;
      this.pool = pool;
      this.length = Gauge.builder("agentbox_claim_queue_length", this, q -> q.waiting.size() + q.inFlight)
          .description("Create requests waiting for an idle pod, per pool")
          .tags("namespace", namespace, "pool", pool).register(registry);
    }

    String key() {
      return namespace + "/" + pool;
    }
  }

  /** A create request in a queue. */
  private static final class Waiter {
    final Bus.ClaimRequest request;
    final Promise<Bus.ClaimReply> reply;
    final long started = System.nanoTime();
    long timer = -1;
    boolean inFlight;
    boolean done;

    Waiter(Bus.ClaimRequest request, Promise<Bus.ClaimReply> reply) {
      this.request = request;
      this.reply = reply;
    }
  }

  @Override
  public Future<?> start() {
    conflicts = Counter.builder("agentbox_claim_conflicts_total")
        .description("Claims that lost a compare-and-swap race and took another pod").register(registry);
    podsGone = Counter.builder("agentbox_claim_pod_gone_total")
        .description("Claims whose pod had been deleted since the cache saw it idle; each took another pod").register(registry);
    cacheLag = Timer.builder("agentbox_claim_cache_lag_seconds")
        .description("From a claim write's answer until this replica's cache shows the claim (0 when it already does): how far the informer trails the API server")
        .register(registry);
    consumers.add(vertx.eventBus().<Bus.ClaimRequest>consumer(Bus.CLAIM, this::onClaim));
    consumers.add(vertx.eventBus().<Bus.ClaimCancel>consumer(Bus.CLAIM_CANCEL, m -> cancel(m.body().sandboxId())));
    consumers.add(vertx.eventBus().<Bus.ClaimAnswered>consumer(Bus.CLAIM_ANSWERED, m -> answered(m.body().sandboxId())));
    podEvents = BusConsumer.on(vertx, Bus.POD_CHANGED, m -> {
      forgetIfCaughtUp(m.body().namespace(), m.body().podName());
      PoolQueue q = queues.get(m.body().namespace() + "/" + m.body().poolName());
      if (q != null && !q.waiting.isEmpty()) {
        drain(q);
      }
    }, m -> LOG.debug("pod {}/{}: event dropped, the scheduler has stopped", m.body().namespace(), m.body().podName()));
    poolEvents = BusConsumer.on(vertx, Bus.POOL_CHANGED, m -> poolChanged(m.body().namespace(), m.body().name()),
        m -> LOG.debug("pool {}/{}: event dropped, the scheduler has stopped", m.body().namespace(), m.body().name()));
    timers.add(vertx.setPeriodic(1000, id -> mirror()));
    return Future.all(podEvents.completion(), poolEvents.completion(),
        Future.all(consumers.stream().map(MessageConsumer::completion).toList()));
  }

  @Override
  public Future<?> stop() {
    timers.forEach(vertx::cancelTimer);
    unconfirmed.values().forEach(u -> vertx.cancelTimer(u.timer));
    for (PoolQueue q : queues.values()) {
      for (Waiter w : q.waiting) {
        finish(w, new Bus.ClaimReply(null, ApiError.serviceUnavailable("gateway shutting down; retry")));
      }
      q.waiting.clear();
    }
    return Future.all(podEvents.unregister(), poolEvents.unregister(),
        Future.all(consumers.stream().map(MessageConsumer::unregister).toList()));
  }

  /**
   * A pool deleted, or being deleted, while requests wait for one of its pods: they are answered
   * 404 now (as a create naming it now would be), not 409 "no idle pod" when their budget runs
   * out. Claims already being written finish. The pool's queue and its metric go once nothing of
   * it is left.
   */
  private void poolChanged(String namespace, String name) {
    String key = namespace + "/" + name;
    PoolQueue q = queues.get(key);
    Optional<SandboxPool> pool = cache.pool(namespace, name);
    if (pool.isEmpty()) {
      lastCreate.remove(key);
      lastCreateWritten.remove(key);
    }
    if (q == null || pool.isPresent() && !Pods.deleting(pool.get())) {
      return;
    }
    if (!q.waiting.isEmpty()) {
      LOG.info("pool {} is being deleted: {} create requests waiting for it answered 404", q.key(), q.waiting.size());
    }
    for (Waiter w : List.copyOf(q.waiting)) {
      registry.timer("agentbox_claim_seconds", "outcome", "pool_deleted").record(Duration.ofNanos(System.nanoTime() - w.started));
      finish(w, new Bus.ClaimReply(null, ApiError.notFound("pool " + q.key() + " was deleted while the request waited for a pod",
          availablePools())));
    }
    q.waiting.clear();
    if (q.inFlight == 0) {
      queues.remove(q.key());
      registry.remove(q.length);
    }
  }

  private void onClaim(Message<Bus.ClaimRequest> m) {
    Promise<Bus.ClaimReply> reply = Promise.promise();
    reply.future().onComplete(ar -> m.reply(ar.succeeded() ? ar.result()
        : new Bus.ClaimReply(null, ApiError.internal("claim failed", ar.cause()))));
    Bus.ClaimRequest r = m.body();
    CreateSandboxInput in = r.input();
    // Populated, not necessarily watching: a watch that reconnects (the API server ends watches
    // every few minutes) leaves the cache a moment stale, which a compare-and-swap claim
    // tolerates (it loses the race and takes another pod); only a cache never filled refuses.
    if (!cache.populated()) {
      reply.complete(new Bus.ClaimReply(null, ApiError.serviceUnavailable("the gateway has not synced with the Kubernetes API yet")));
      return;
    }
    Optional<SandboxPool> pool = cache.pool(in.namespace(), in.poolName());
    if (pool.isEmpty() || Pods.deleting(pool.get())) {
      reply.complete(new Bus.ClaimReply(null, ApiError.notFound(
          "pool " + in.namespace() + "/" + in.poolName() + " not found", availablePools())));
      return;
    }
    Optional<Pod> already = cache.podBySandboxId(r.sandboxId());
    if (already.isPresent()) {
      // An idempotent retry whose first claim went through: the same sandbox, never a second pod.
      reply.complete(alreadyHeld(already.get()));
      return;
    }
    Optional<String> badContainer = unknownContainer(pool.get(), in);
    if (badContainer.isPresent()) {
      reply.complete(new Bus.ClaimReply(null, ApiError.badRequest("containerImages names container '" + badContainer.get()
          + "', which pool " + in.poolName() + " does not have")));
      return;
    }
    PoolQueue q = queues.computeIfAbsent(in.namespace() + "/" + in.poolName(), k -> new PoolQueue(in.namespace(), in.poolName()));
    Waiter w = new Waiter(r, reply);
    q.waiting.addLast(w);
    long budget = Math.max(1, r.waitBudget().toMillis());
    w.timer = vertx.setTimer(budget, t -> expire(q, w));
    lastCreate.put(q.key(), Instant.now());
    drain(q);
  }

  /** The answer for a request whose sandbox a pod already holds: that sandbox, as it is now. */
  private static Bus.ClaimReply alreadyHeld(Pod p) {
    return new Bus.ClaimReply(SandboxRecords.of(p, SandboxRecords.liveStatus(p), null, null), null);
  }

  /**
   * The client of a queued create went away: its request leaves the queue and claims nothing. One
   * whose claim write is already in flight finishes (never abandoned half-way); its caller
   * releases the sandbox it got.
   */
  private void cancel(String sandboxId) {
    for (PoolQueue q : queues.values()) {
      for (Waiter w : q.waiting) {
        if (w.request.sandboxId().equals(sandboxId) && !w.inFlight && !w.done) {
          q.waiting.remove(w);
          registry.timer("agentbox_claim_seconds", "outcome", "client_gone").record(Duration.ofNanos(System.nanoTime() - w.started));
          LOG.info("create of sandbox {} in pool {} dropped from the queue: its client went away", sandboxId, q.key());
          finish(w, new Bus.ClaimReply(null, ApiError.conflict("the client went away before a pod was free", null)));
          return;
        }
      }
    }
  }

  /** The cache shows a newer version of the pod (or none): what was known to be stale is no longer needed. */
  private void forgetIfCaughtUp(String namespace, String podName) {
    String key = namespace + "/" + podName;
    String stale = staleAt.get(key);
    if (stale != null && !cache.pod(namespace, podName).map(p -> stale.equals(p.getMetadata().getResourceVersion())).orElse(false)) {
      caughtUp(key);
    }
  }

  /** The cache shows a newer version of the pod than the one noted stale (or none). */
  private void caughtUp(String key) {
    staleAt.remove(key);
    Long since = unseenSince.remove(key);
    if (since != null) {
      cacheLag.record(System.nanoTime() - since, TimeUnit.NANOSECONDS);
    }
  }

  /** The budget ran out while the request still waited in the queue: 409 with the pool's counts. */
  private void expire(PoolQueue q, Waiter w) {
    if (w.done || w.inFlight) {
      return; // a claim write in flight finishes first; it is never abandoned half-way
    }
    q.waiting.remove(w);
    PoolPodCounts counts = cache.podCounts(q.namespace, q.pool);
    int idle = counts.idle(), running = counts.running(), starting = counts.starting(), stopping = counts.stopping(), failed = counts.failed();
    int retryAfter = stopping > 0 ? 2 : 5;
    String hint = stopping > 0
        ? stopping + " sandboxes are being recycled; retry shortly"
        : "all " + (running + starting) + " pods of the pool are busy; retry later or scale the pool up";
    registry.timer("agentbox_claim_seconds", "outcome", "no_idle_pod").record(Duration.ofNanos(System.nanoTime() - w.started));
    finish(w, new Bus.ClaimReply(null, ApiError.conflict("no idle pod in pool " + q.pool + " within "
        + w.request.waitBudget().toSeconds() + "s", new PoolStatusDetail(idle, running, starting, stopping, failed, hint, retryAfter))));
  }

  /** Hands idle pods to waiters in queue order, several writes at once, each to a different pod. */
  private void drain(PoolQueue q) {
    while (!q.waiting.isEmpty() && q.inFlight < options.maxInFlightPerPool) {
      Waiter head = q.waiting.peekFirst();
      Optional<Pod> held = cache.podBySandboxId(head.request.sandboxId());
      if (held.isPresent()) {
        // Claimed meanwhile by another request for the same sandbox (an idempotent retry sent to
        // another replica while this one waited): the same sandbox, never a second pod.
        q.waiting.pollFirst();
        finish(head, alreadyHeld(held.get()));
        continue;
      }
      Pod pod = pick(q);
      if (pod == null) {
        return; // woken again by the next pod event of this pool
      }
      Waiter w = q.waiting.pollFirst();
      claim(q, w, pod);
    }
  }

  /**
   * An idle pod to claim: the first the cache hands out (claimable pods only, from a random place,
   * those not marked for scale-down first) that is not being written and not lost to a race at its
   * current version. Random, so replicas rarely collide; it stops at the first fit, and the cache
   * hands out claimable pods only, one at a time, so a pick costs about the same whatever the
   * pool's size and however many of its idle pods are still starting.
   */
  private Pod pick(PoolQueue q) {
    for (Pod p : cache.claimablePods(q.namespace, q.pool)) {
      String key = q.namespace + "/" + Pods.name(p);
      String lost = staleAt.get(key);
      if (lost != null) {
        if (lost.equals(p.getMetadata().getResourceVersion())) {
          continue;
        }
        caughtUp(key);
      }
      if (Pods.claimable(p) && !podsInFlight.contains(key)) {
        return p;
      }
    }
    return null;
  }

  private void claim(PoolQueue q, Waiter w, Pod pod) {
    String key = q.namespace + "/" + Pods.name(pod);
    CreateSandboxInput in = w.request.input();
    Optional<SandboxPool> pool = cache.pool(q.namespace, q.pool);
    Duration startup = in.startupTimeout() != null ? in.startupTimeout()
        : pool.flatMap(p -> GoDuration.parseLenient(p.getSpec().getDefaultStartupTimeout())).orElse(null);
    Duration idle = in.idleTimeout() != null ? in.idleTimeout()
        : pool.flatMap(p -> GoDuration.parseLenient(p.getSpec().getDefaultIdleTimeout())).orElse(null);
    Pod claimed = PodTransitions.claim(pod, new PodTransitions.ClaimSpec(w.request.sandboxId(), images(pod, in), in.labels(),
        in.annotations(), in.metadata(), startup == null ? DEFAULT_STARTUP_TIMEOUT : startup, idle, in.postStartHooks(),
        in.team(), in.user(), Instant.now()));
    w.inFlight = true;
    podsInFlight.add(key);
    q.inFlight++;
    long writeStart = System.nanoTime();
    PodUpdates.update(vertx, client, claimed)
        .recover(e -> !KubeErrors.conflict(e) ? Future.failedFuture(e)
            : heldBy(q.namespace, Pods.name(pod), w.request.sandboxId()).compose(held -> held.map(Future::succeededFuture)
                .orElseGet(() -> Future.failedFuture(e))))
        .onComplete(ar -> {
          registry.timer("agentbox_claim_write_seconds").record(Duration.ofNanos(System.nanoTime() - writeStart));
          podsInFlight.remove(key);
          q.inFlight--;
          w.inFlight = false;
          if (ar.succeeded()) {
            String before = pod.getMetadata().getResourceVersion();
            if (cache.pod(q.namespace, Pods.name(pod)).map(c -> before.equals(c.getMetadata().getResourceVersion())).orElse(false)) {
              staleAt.put(key, before); // the cache has not seen this claim yet
              unseenSince.put(key, System.nanoTime());
            } else {
              cacheLag.record(0, TimeUnit.NANOSECONDS);
            }
            succeed(w, ar.result());
          } else if (KubeErrors.conflict(ar.cause()) || KubeErrors.gone(ar.cause())) {
            // Lost the race: to another claimer (409), or to whoever deleted the pod since the
            // cache last saw it (404; the cache drops it when the deletion's event arrives).
            if (KubeErrors.gone(ar.cause())) {
              podsGone.increment();
              LOG.debug("pod {} was deleted before sandbox {} could claim it; taking another", key, w.request.sandboxId());
            } else {
              conflicts.increment();
            }
            staleAt.put(key, pod.getMetadata().getResourceVersion());
            if (w.done) {
              // (cannot happen: a waiter in flight does not expire) keep the invariant anyway
              return;
            }
            q.waiting.addFirst(w); // first come, first served: it keeps its place
            if (Duration.ofNanos(System.nanoTime() - w.started).compareTo(w.request.waitBudget()) >= 0) {
              expire(q, w);
            }
          } else {
            ambiguous(q, w, claimed, ar.cause());
          }
          drain(q);
        });
  }

  /**
   * After a 409, whether the pod holds this very sandbox: the client resends a write whose answer
   * was lost (connection reset, 5xx) and the resend then conflicts with the first attempt, which
   * went through. Read from the API server (the cache may lag); a failed read is no verdict.
   */
  private Future<Optional<Pod>> heldBy(String namespace, String podName, String sandboxId) {
    return PodUpdates.get(vertx, client, namespace, podName).map(p -> p.filter(held -> sandboxId.equals(Pods.sandboxId(held))));
  }

  private void succeed(Waiter w, Pod claimed) {
    vertx.cancelTimer(w.timer);
    registry.timer("agentbox_claim_seconds", "outcome", "claimed").record(Duration.ofNanos(System.nanoTime() - w.started));
    Sandbox s = SandboxRecords.of(claimed, SandboxStatus.STARTING, null, null);
    finish(w, new Bus.ClaimReply(s, null));
  }

  /**
   * The write failed without a verdict (API unreachable, timeout): it may or may not have been
   * applied. The caller gets 503. If the pod turns out to hold this sandbox after all, from this
   * very write, and nobody got the sandbox as an answer, it is released, so no pod stays claimed
   * without a live request:
   * <ul>
   *   <li>without an Idempotency-Key nobody ever can (the next try has another id): released as
   *       soon as the cache shows it;
   *   <li>with one, the client's retry gets it (as an already held sandbox): the scheduler waits
   *       for the watch window for that retry to be answered here ({@link Bus#CLAIM_ANSWERED}).
   *       If none was, a sandbox with an idle timeout is left to it (the retry may have gone to
   *       another replica, whose client then keeps it by using it); one without is released.
   * </ul>
   * A holder this write did not make (another replica claimed for the same key) is left alone.
   */
  private void ambiguous(PoolQueue q, Waiter w, Pod claimed, Throwable cause) {
    vertx.cancelTimer(w.timer);
    String sandboxId = w.request.sandboxId();
    boolean retryable = w.request.retryable();
    LOG.warn("claim of pod {}/{} for sandbox {} failed: {}", q.namespace, Pods.name(claimed), sandboxId, cause.toString());
    registry.timer("agentbox_claim_seconds", "outcome", "api_error").record(Duration.ofNanos(System.nanoTime() - w.started));
    finish(w, new Bus.ClaimReply(null, ApiError.serviceUnavailable("the Kubernetes API could not be reached: " + rootMessage(cause)
        + (retryable ? "; the claim may have gone through: retry with the same Idempotency-Key to get the sandbox if so"
            : "; if the claim went through after all, its pod is released"))));
    // A retry during the same outage can end unconfirmed too: one watch covers every write this
    // replica made for the sandbox.
    Unconfirmed u = unconfirmed.computeIfAbsent(sandboxId, id -> {
      Unconfirmed watched = new Unconfirmed(q.namespace, id);
      watched.timer = vertx.setPeriodic(1000, 1000, t -> check(watched));
      return watched;
    });
    u.writes.add(claimOf(claimed));
    u.retryable |= retryable;
    u.deadline = System.nanoTime() + options.ambiguousClaimWatch.toNanos();
  }

  /** Which claim a pod holds: its name and claim time (a claim this replica wrote has both). */
  private static String claimOf(Pod p) {
    return Pods.name(p) + "@" + Pods.annotation(p, Annotations.CLAIMED_AT);
  }

  /** One look at an unconfirmed claim: release it, leave it, or keep watching. */
  private void check(Unconfirmed u) {
    List<Pod> holders = cache.podsBySandboxId(u.sandboxId).stream().filter(p -> !Pods.deleting(p)).toList();
    boolean ours = !holders.isEmpty() && holders.stream()
        .allMatch(p -> u.writes.contains(claimOf(p)));
    boolean over = System.nanoTime() > u.deadline;
    if (ours && u.retryable && over && holders.stream().allMatch(p -> Pods.duration(p, Annotations.IDLE_TIMEOUT).isPresent())) {
      // A retry answered by another replica is not known here, and releasing would take the
      // sandbox from that client: its idle timeout reclaims it if nobody uses it.
      endWatch(u, "left_to_idle_timeout");
      LOG.info("sandbox {}, whose claim had an unknown outcome, was not asked for again here: left to its idle timeout", u.sandboxId);
    } else if (ours && (!u.retryable || over)) {
      endWatch(u, "released");
      LOG.warn("sandbox {} was claimed after its request failed, and no retry got it: releasing it", u.sandboxId);
      vertx.eventBus().request(Bus.RELEASE, new Bus.ReleaseRequest(u.namespace, u.sandboxId, "Canceled", "ClaimAborted"))
          .onFailure(e -> LOG.warn("release of unconfirmed sandbox {} failed: {}", u.sandboxId, e.toString()));
    } else if (over) {
      endWatch(u, holders.isEmpty() ? "not_applied" : "held_elsewhere");
    }
  }

  /** Claims of one sandbox whose write outcome was unknown, watched until it is known what became of them. */
  private static final class Unconfirmed {
    final String namespace;
    final String sandboxId;
    /** pod name @ claimed-at of each claim this replica wrote for the sandbox without a verdict. */
    final Set<String> writes = new HashSet<>();
    boolean retryable;
    long deadline;
    long timer = -1;

    Unconfirmed(String namespace, String sandboxId) {
      this.namespace = namespace;
      this.sandboxId = sandboxId;
    }
  }

  private void endWatch(Unconfirmed u, String outcome) {
    unconfirmed.remove(u.sandboxId, u);
    vertx.cancelTimer(u.timer);
    registry.counter("agentbox_claim_unconfirmed_total", "outcome", outcome).increment();
  }

  /** A create for this sandbox was answered with it: an unconfirmed claim of it is the client's now. */
  private void answered(String sandboxId) {
    Unconfirmed u = unconfirmed.get(sandboxId);
    if (u != null) {
      LOG.info("sandbox {}, whose claim had an unknown outcome, was handed to a retry of its create", sandboxId);
      endWatch(u, "answered");
    }
  }

  private void finish(Waiter w, Bus.ClaimReply reply) {
    if (w.done) {
      return;
    }
    w.done = true;
    vertx.cancelTimer(w.timer);
    w.reply.complete(reply);
  }

  /** container name → image for the claim; {@code image} means the first container. */
  static Map<String, String> images(Pod pod, CreateSandboxInput in) {
    Map<String, String> m = new HashMap<>();
    if (in.containerImages() != null) {
      m.putAll(in.containerImages());
    }
    if (in.image() != null && !in.image().isBlank()) {
      m.put(pod.getSpec().getContainers().get(0).getName(), in.image());
    }
    return m;
  }

  static Optional<String> unknownContainer(SandboxPool pool, CreateSandboxInput in) {
    if (in.containerImages() == null || in.containerImages().isEmpty()) {
      return Optional.empty();
    }
    var template = pool.getSpec().getTemplate();
    Set<String> names = new HashSet<>();
    if (template != null && template.getSpec() != null && template.getSpec().getContainers() != null) {
      template.getSpec().getContainers().forEach(c -> names.add(c.getName()));
    }
    return in.containerImages().keySet().stream().filter(n -> !names.contains(n)).findFirst();
  }

  private AvailablePoolsDetail availablePools() {
    List<AvailablePoolSummary> pools = cache.pools().stream()
        .filter(p -> !Pods.deleting(p))
        .map(p -> {
          PoolPodCounts counts = cache.podCounts(p.getMetadata().getNamespace(), p.getMetadata().getName());
          return new AvailablePoolSummary(p.getMetadata().getName(), p.getMetadata().getNamespace(), counts.idle(), counts.running(), counts.starting());
        })
        .sorted(Comparator.comparing(AvailablePoolSummary::namespace).thenComparing(AvailablePoolSummary::name))
        .toList();
    return new AvailablePoolsDetail(pools, pools.isEmpty() ? "no pools exist yet" : "use one of these poolName values");
  }

  /**
   * Mirrors queue lengths to status.pendingRequests (at most every 3 s, on a 20 % change or a
   * crossing of zero) and the last create time to the pool annotation (at most every 5 s).
   */
  private void mirror() {
    long now = System.nanoTime();
    for (PoolQueue q : queues.values()) {
      int len = q.waiting.size() + q.inFlight;
      boolean crossed = (len == 0) != (q.mirrored == 0);
      boolean moved = Math.abs(len - q.mirrored) >= Math.max(1, options.pendingMirrorChange * q.mirrored);
      if (len != q.mirrored && (crossed || moved) && now - q.mirroredAt >= options.pendingMirrorInterval.toNanos()) {
        q.mirrored = len;
        q.mirroredAt = now;
        patchPool(q.namespace, q.pool, true, "{\"status\":{\"pendingRequests\":" + len + "}}");
      }
    }
    for (Map.Entry<String, Instant> e : lastCreate.entrySet()) {
      Instant written = lastCreateWritten.get(e.getKey());
      if (written != null && (!e.getValue().isAfter(written)
          || Duration.between(written, Instant.now()).compareTo(options.lastCreateFlushInterval) < 0)) {
        continue;
      }
      lastCreateWritten.put(e.getKey(), e.getValue());
      String[] nsName = e.getKey().split("/", 2);
      patchPool(nsName[0], nsName[1], false, "{\"metadata\":{\"annotations\":{" + Json.encode(Annotations.LAST_SANDBOX_CREATE_TIME)
          + ":" + Json.encode(PodTransitions.rfc3339(e.getValue())) + "}}}");
    }
  }

  private void patchPool(String namespace, String name, boolean status, String mergePatch) {
    vertx.executeBlocking(() -> {
      var pool = client.resources(SandboxPool.class).inNamespace(namespace).withName(name);
      return status ? pool.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch)
          : pool.patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
    }, false).onFailure(e -> LOG.debug("mirroring to pool {}/{} failed: {}", namespace, name, e.toString()));
  }

  /** Startup timeout of a create that names none, in a pool without defaultStartupTimeout. */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofMinutes(2);

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
