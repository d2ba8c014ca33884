package sh.navix.agentbox.reconciler;

import sh.navix.agentbox.api.lifecycle.KubeErrors;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.bus.BusConsumer;
import sh.navix.agentbox.api.cache.PoolPodCounts;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolStatus;
import sh.navix.agentbox.api.crd.SandboxTemplate;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.lifecycle.Timeouts;

/**
 * Keeps each pool at {@code spec.replicas} pods (leader only): creates warm pods, scales down idle
 * pods after a protection window, deletes the pods of a deleted pool, resolves templateName at
 * pool creation, and writes the pool status when it changed.
 */
public final class PoolReconciler extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(PoolReconciler.class);

  private final Lifecycle lifecycle;
  private final ReconcilerOptions options;
  /**
   * Pool key → names of pods created whose first pod event this verticle has not handled yet, with
   * when each create was sent (System.nanoTime).
   */
  private final Map<String, Map<String, Long>> expected = new HashMap<>();
  /** Pools to look at again on the next tick (scale-down windows running, creates in flight). */
  private final Set<String> watchlist = new HashSet<>();
  /** Pool key → when its status was last written, for the write interval. */
  private final Map<String, Long> statusWritten = new HashMap<>();
  /** Pools whose status changed inside the interval and still needs writing. */
  private final Set<String> statusDue = new HashSet<>();
  /** Pool key → pod creates refused in a row (quota, admission webhook, invalid template), and the back-off. */
  private final Map<String, CreateFailures> createFailures = new HashMap<>();
  private KeyedQueue queue;
  /** Pools with a pod-event reconcile already scheduled. */
  private final Set<String> debounced = new HashSet<>();
  private final List<BusConsumer<?>> consumers = new ArrayList<>();
  private long resyncTimer = -1;
  private long tickTimer = -1;

  public PoolReconciler(Lifecycle lifecycle, ReconcilerOptions options) {
    this.lifecycle = lifecycle;
    this.options = options;
  }

  @Override
  public Future<?> start() {
    queue = new KeyedQueue("pool", this::reconcile);
    consumers.add(BusConsumer.<Bus.PoolChanged>on(vertx, Bus.POOL_CHANGED, m -> queue.submit(m.body().namespace() + "/" + m.body().name()),
        m -> LOG.debug("pool {}/{}: event dropped, this replica stopped leading", m.body().namespace(), m.body().name())));
    consumers.add(BusConsumer.<Bus.PodChanged>on(vertx, Bus.POD_CHANGED, m -> {
      if (m.body().poolName() != null) {
        String key = m.body().namespace() + "/" + m.body().poolName();
        // A pod this reconciler created has been seen, whatever the event: it is no longer
        // "created but not yet seen". (A pod claimed, released and deleted between two reconciles
        // of its pool was never in the cache at a reconcile and stayed counted forever, leaving
        // the pool one pod short for good.)
        Map<String, Long> pending = expected.get(key);
        if (pending != null) {
          pending.remove(m.body().podName());
        }
        if (debounced.add(key)) {
          vertx.setTimer(Math.max(1, options.poolDebounce.toMillis()), t -> {
            debounced.remove(key);
            queue.submit(key);
          });
        }
      }
    }, PhaseReconciler::droppedOnStop));
    resyncTimer = vertx.setPeriodic(0, options.resync.toMillis(), id -> resyncAll());
    tickTimer = vertx.setPeriodic(options.tick.toMillis(), id -> {
      new ArrayList<>(watchlist).forEach(queue::submit);
      new ArrayList<>(statusDue).forEach(queue::submit);
    });
    return Future.all(consumers.stream().map(BusConsumer::completion).toList());
  }

  @Override
  public Future<?> stop() {
    queue.close();
    vertx.cancelTimer(resyncTimer);
    vertx.cancelTimer(tickTimer);
    return Future.all(consumers.stream().map(BusConsumer::unregister).toList());
  }

  private void resyncAll() {
    Set<String> keys = new HashSet<>();
    lifecycle.cache().pools().forEach(p -> keys.add(PodWriter.key(p)));
    // Pods whose pool is gone (deleted while we were not leader) are found through their label.
    lifecycle.cache().pods().forEach(p -> {
      if (Pods.pool(p) != null) {
        keys.add(Pods.namespace(p) + "/" + Pods.pool(p));
      }
    });
    keys.forEach(queue::submit);
  }

  Future<?> reconcile(String key) {
    int slash = key.indexOf('/');
    String ns = key.substring(0, slash);
    String name = key.substring(slash + 1);
    Optional<SandboxPool> cached = lifecycle.cache().pool(ns, name);
    if (cached.isEmpty() || Pods.deleting(cached.get())) {
      watchlist.remove(key);
      expected.remove(key);
      createFailures.remove(key);
      statusDue.remove(key);
      statusWritten.remove(key);
      Future<?> removal = deleteAll(key, lifecycle.cache().pods(ns, name));
      return cached.isEmpty() ? removal : removal.compose(v -> writeStatus(cached.get(), lifecycle.cache().podCounts(ns, name)));
    }
    SandboxPool pool = cached.get();
    if (!hasTemplate(pool)) {
      return resolveTemplate(pool);
    }
    Instant now = lifecycle.clock().instant();
    // A pass reads the pool's counts, kept from pod events, and goes over its pods only when some
    // are to be removed or unmarked: with thousands of pods, claims and releases cost a pass
    // nothing in proportion to the pool. Names created leave `pending` on their first pod event,
    // which reaches this verticle after the counts include the pod: a new pod may count twice for
    // a moment (a pass then creates fewer, and the event brings another pass), never not at all.
    // So only pods counted decide a scale-down: a pod counted twice must not look like one too many.
    Map<String, Long> pending = expected.computeIfAbsent(key, k -> new HashMap<>());
    forgetUnseen(key, ns, pending);
    PoolPodCounts counts = lifecycle.cache().podCounts(ns, name);
    int replicas = pool.getSpec().getReplicas();
    int count = counts.present() + pending.size();
    CreateFailures refused = createFailures.get(key);
    if (refused != null && (count >= replicas || !Objects.equals(refused.generation, pool.getMetadata().getGeneration()))) {
      // No pod missing (a create that timed out went through after all, or the pool was scaled
      // down), or the pool's spec changed so that what was refused may pass now.
      createFailures.remove(key);
      refused = null;
    }
    boolean backingOff = refused != null && System.nanoTime() < refused.retryAt;
    List<Future<?>> creates = new ArrayList<>();
    // Scaling up: say so before creating, so the pool reads ScalingUp however fast pods appear.
    Future<?> announced = count < replicas && pending.isEmpty() && !backingOff ? writeStatus(pool, counts) : Future.succeededFuture();
    int probe = refused == null ? options.createBurst : 1; // after a refusal, one pod tries whether creates pass again
    return announced.eventually(() -> {
      List<Future<?>> work = new ArrayList<>();
      if (count < replicas && !backingOff) {
        int n = Math.min(replicas - count, probe);
        for (int i = 0; i < n; i++) {
          creates.add(create(key, pool, pending));
        }
        work.addAll(creates);
      }
      int excess = counts.present() - replicas;
      if (excess > 0 || counts.scaleDownProtected() > 0) {
        work.addAll(scaleDown(pool, lifecycle.cache().pods(ns, name), excess, now));
      }
      if (!pending.isEmpty() || counts.scaleDownProtected() > 0) {
        watchlist.add(key);
      } else {
        watchlist.remove(key);
      }
      return Future.join(work);
    }).eventually(() -> {
      createsDone(key, pool, creates);
      if (createFailures.containsKey(key)) {
        watchlist.add(key); // the tick tries again once the back-off is over
      }
      return writeStatus(lifecycle.cache().pool(ns, name).orElse(pool), lifecycle.cache().podCounts(ns, name));
    });
  }

  /** Pod creates refused in a row for one pool: each refusal doubles the wait before the next try. */
  private static final class CreateFailures {
    int count;
    long retryAt;
    String message;
    Long generation;
  }

  /**
   * After a pass's creates: any success ends the back-off; all refused (quota, an admission
   * webhook, an invalid template) doubles it, from {@code createBackoff} up to
   * {@code createBackoffMax}, and the next pass tries one pod only, instead of the API server
   * being sent a full burst every tick.
   */
  private void createsDone(String key, SandboxPool pool, List<Future<?>> creates) {
    if (creates.isEmpty()) {
      return;
    }
    if (creates.stream().anyMatch(Future::succeeded)) {
      CreateFailures was = createFailures.remove(key);
      if (was != null) {
        LOG.info("pool {}: pod creates pass again after {} refused", key, was.count);
      }
      return;
    }
    CreateFailures f = createFailures.computeIfAbsent(key, k -> new CreateFailures());
    f.count++;
    f.generation = pool.getMetadata().getGeneration();
    Throwable cause = creates.get(0).cause();
    f.message = cause == null ? "unknown error" : cause instanceof KubernetesClientException k && k.getStatus() != null
        && k.getStatus().getMessage() != null ? k.getStatus().getMessage() : cause.getMessage();
    Duration doubled = options.createBackoff.multipliedBy(1L << Math.min(f.count - 1, 20));
    Duration wait = doubled.compareTo(options.createBackoffMax) > 0 ? options.createBackoffMax : doubled;
    f.retryAt = System.nanoTime() + wait.toNanos();
    lifecycle.createRefused(pool);
    LOG.warn("pool {}: pod create refused ({} in a row): {}; next try in {}s", key, f.count, f.message, Math.max(1, wait.toSeconds()));
  }

  /** Names tried per pod create before a taken name counts as a refusal. */
  private static final int NAME_TRIES = 5;

  /**
   * A pod the API server said it created, which the informer still has not seen after
   * {@code createdUnseenLimit}, no longer counts: it was deleted before the informer saw it (a
   * watch gap, someone else's delete), so no event will ever take it out, and the pool would stay
   * one pod short for good.
   */
  private void forgetUnseen(String key, String ns, Map<String, Long> pending) {
    long now = System.nanoTime();
    pending.entrySet().removeIf(e -> {
      boolean lost = now - e.getValue() > options.createdUnseenLimit.toNanos() && lifecycle.cache().pod(ns, e.getKey()).isEmpty();
      if (lost) {
        LOG.warn("pool {}: pod {} was created {}s ago and never seen since: no longer counted", key, e.getKey(),
            Duration.ofNanos(now - e.getValue()).toSeconds());
      }
      return lost;
    });
  }

  private Future<?> create(String key, SandboxPool pool, Map<String, Long> pending) {
    return create(key, pool, pending, NAME_TRIES);
  }

  private Future<Pod> create(String key, SandboxPool pool, Map<String, Long> pending, int tries) {
    String podName = WarmPods.newPodName(pool.getMetadata().getName());
    Pod pod;
    try {
      pod = WarmPods.newIdlePod(pool, podName);
    } catch (IllegalArgumentException e) {
      LOG.warn("pool {}: {}", key, e.getMessage());
      return Future.failedFuture(e);
    }
    pending.put(podName, System.nanoTime());
    return lifecycle.writer().create(pod)
        .onSuccess(p -> lifecycle.transition(null, SandboxPhase.IDLE.wire()))
        .recover(e -> {
          pending.remove(podName);
          if (KubeErrors.conflict(e) && tries > 1) {
            // AlreadyExists: the random name is taken (one chance in ~14 million per existing
            // pod, so a pool of thousands meets it now and then), as with generateName. Another
            // name at once; this is no refusal to back off from. (Should the client have resent
            // a create that went through, its 409 is our own pod: the pool then has one pod over,
            // which it scales down as any excess.)
            LOG.debug("pool {}: pod name {} is taken, trying another", key, podName);
            return create(key, pool, pending, tries - 1);
          }
          LOG.warn("pool {}: creating pod {} failed: {}", key, podName, e.toString());
          return Future.failedFuture(e);
        });
  }

  /**
   * Removes {@code excess} idle pods, oldest first: each is first marked scale-down-protected (a
   * claim inside the window keeps it), then deleted once the window has passed. Marks that are no
   * longer needed are cleared.
   */
  private List<Future<?>> scaleDown(SandboxPool pool, List<Pod> pods, int excess, Instant now) {
    List<Pod> idle = pods.stream().filter(p -> !Pods.deleting(p) && Pods.inPhase(p, SandboxPhase.IDLE))
        .sorted(Comparator.<Pod, Boolean>comparing(p -> Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) == null)
            .thenComparing(p -> p.getMetadata().getCreationTimestamp() == null ? "" : p.getMetadata().getCreationTimestamp())
            .thenComparing(Pods::name))
        .toList();
    List<Future<?>> work = new ArrayList<>();
    for (int i = 0; i < idle.size(); i++) {
      Pod p = idle.get(i);
      Optional<Instant> since = Pods.time(p, Annotations.SCALE_DOWN_PROTECTED);
      boolean chosen = i < excess;
      if (chosen && since.isEmpty()) {
        work.add(lifecycle.writer().update(PodTransitions.protectForScaleDown(p, now))
            .onSuccess(x -> LOG.info("pool {}: pod {} marked for scale-down", PodWriter.key(pool), Pods.name(p))));
      } else if (chosen && !since.get().plus(Timeouts.ANNOTATION_TIME_RESOLUTION).plus(options.scaleDownProtection).isAfter(now)) {
        // (the mark's time is in whole seconds: the window counts from the end of that second)
        work.add(lifecycle.finish(p, SandboxPhase.IDLE, "scaled-down"));
      } else if (!chosen && since.isPresent()) {
        work.add(lifecycle.writer().update(PodTransitions.unprotect(p)));
      }
    }
    return work;
  }

  /** Deletes every pod of a deleted pool; the finalizer keeps each until its history is written. */
  private Future<?> deleteAll(String key, List<Pod> pods) {
    List<Future<?>> work = new ArrayList<>();
    for (Pod p : pods) {
      if (!Pods.deleting(p)) {
        work.add(lifecycle.writer().delete(Pods.namespace(p), Pods.name(p)));
      }
    }
    if (!work.isEmpty()) {
      LOG.info("pool {} deleted: deleting its {} pods", key, work.size());
    }
    return Future.join(work);
  }

  private static boolean hasTemplate(SandboxPool pool) {
    return pool.getSpec().getTemplate() != null && pool.getSpec().getTemplate().getSpec() != null
        && pool.getSpec().getTemplate().getSpec().getContainers() != null
        && !pool.getSpec().getTemplate().getSpec().getContainers().isEmpty();
  }

  /** Copies the named SandboxTemplate into a pool created with templateName only (once, at creation). */
  private Future<?> resolveTemplate(SandboxPool pool) {
    String templateName = pool.getSpec().getTemplateName();
    Optional<SandboxTemplate> template = templateName == null ? Optional.empty() : lifecycle.cache().template(templateName);
    if (template.isEmpty() || template.get().getSpec() == null || template.get().getSpec().getTemplate() == null) {
      LOG.warn("pool {} has no pod template and its templateName {} does not resolve", PodWriter.key(pool), templateName);
      return writeStatus(pool, PoolPodCounts.NONE);
    }
    SandboxPool copy = Serialization.clone(pool);
    var spec = copy.getSpec();
    var ts = template.get().getSpec();
    spec.setTemplate(Serialization.clone(ts.getTemplate()));
    if (spec.getIdleImage() == null) {
      spec.setIdleImage(ts.getIdleImage());
    }
    if (spec.getRuntimes() == null) {
      spec.setRuntimes(ts.getRuntimes());
    }
    Map<String, String> ann = new LinkedHashMap<>(copy.getMetadata().getAnnotations() == null ? Map.of() : copy.getMetadata().getAnnotations());
    ann.put(Annotations.POOL_TEMPLATE_NAME, templateName);
    if (ts.getVersion() != null) {
      ann.put(Annotations.POOL_TEMPLATE_VERSION, ts.getVersion());
    }
    copy.getMetadata().setAnnotations(ann);
    return lifecycle.writer().updatePool(copy)
        .onSuccess(p -> LOG.info("pool {}: copied template {} {}", PodWriter.key(pool), templateName, ts.getVersion() == null ? "" : ts.getVersion()));
  }

  private Future<?> writeStatus(SandboxPool pool, PoolPodCounts counts) {
    String key = PodWriter.key(pool);
    CreateFailures refused = createFailures.get(key);
    SandboxPoolStatus status = PoolStatuses.compute(pool, counts, lifecycle.clock().instant(), refused == null ? null : refused.message);
    if (pool.getStatus() != null && Json.mapper().valueToTree(pool.getStatus()).equals(Json.mapper().valueToTree(status))) {
      statusDue.remove(key);
      return Future.succeededFuture();
    }
    long now = System.nanoTime();
    Long last = statusWritten.get(key);
    boolean phaseChanged = pool.getStatus() == null || pool.getStatus().getPhase() != status.getPhase();
    if (!phaseChanged && last != null && now - last < options.statusInterval.toNanos()) {
      statusDue.add(key); // a tick writes the latest counts once the interval has passed
      return Future.succeededFuture();
    }
    statusDue.remove(key);
    statusWritten.put(key, now);
    SandboxPool copy = Serialization.clone(pool);
    copy.setStatus(status);
    return lifecycle.writer().updateStatus(copy).recover(e -> KubeErrors.gone(e) ? Future.succeededFuture() : Future.failedFuture(e));
  }
}
