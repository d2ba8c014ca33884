package sh.navix.agentbox.api.cache.impl;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.cache.PoolPodCounts;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxTemplate;
import sh.navix.agentbox.api.lifecycle.Pods;

/** {@link ClusterCache} on fabric8 shared index informers. */
public final class InformerClusterCache implements ClusterCache {
  private static final Logger LOG = LoggerFactory.getLogger(InformerClusterCache.class);

  static final String BY_SANDBOX_ID = "sandboxId";
  static final String BY_POOL = "pool";
  static final String BY_POOL_PHASE = "poolPhase";
  static final String BY_SANDBOX_IP = "sandboxIp";

  private final Vertx vertx;
  private final KubernetesClient client;
  private final String namespace;
  private final long resyncMs;
  private final long watchGapGraceNanos;
  /** System.nanoTime when every informer was last seen watching; 0 before that. */
  private volatile long lastWatching;
  private long watchTimer = -1;
  private volatile SharedIndexInformer<Pod> pods;
  /**
   * Keys of the pods a claim may take ({@link Pods#claimable}), by pool and whether marked for
   * scale-down, kept from pod events: for picking one of many without copying them all, and
   * without looking at the pool's other pods. (A pool being refilled may hold thousands of idle
   * pods whose containers are still starting: in the claims bench, 4,000 of them against 300
   * Ready ones, and a pick that walked them all on every pod event while requests waited.)
   */
  private final Map<String, KeySample> claimable = new ConcurrentHashMap<>();
  /** Pod counts by pool (namespace/name), kept from pod events: a pool's counts without going over its pods. */
  private final Map<String, PoolTally> tallies = new ConcurrentHashMap<>();
  private volatile SharedIndexInformer<SandboxPool> poolInformer;
  private volatile SharedIndexInformer<SandboxTemplate> templateInformer;

  public InformerClusterCache(Vertx vertx, KubernetesClient client, String namespace, Duration resync, Duration watchGapGrace) {
    this.vertx = vertx;
    this.client = client;
    this.namespace = namespace;
    this.resyncMs = resync.toMillis();
    this.watchGapGraceNanos = watchGapGrace.toNanos();
  }

  @Override
  public Future<Void> start() {
    // Building informers talks to the client's configuration only; start() is asynchronous.
    var podOps =
        namespace == null
            ? client.pods().inAnyNamespace().withLabel(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER)
            : client.pods().inNamespace(namespace).withLabel(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER);
    pods = podOps.runnableInformer(resyncMs);
    pods.addIndexers(
        Map.<String, Function<Pod, List<String>>>of(
            BY_SANDBOX_ID, p -> listOf(label(p, Labels.SANDBOX_ID)),
            BY_POOL, p -> listOf(poolKey(ns(p), label(p, Labels.SANDBOX_POOL))),
            BY_POOL_PHASE, p -> listOf(poolPhaseKey(p)),
            BY_SANDBOX_IP, p -> label(p, Labels.SANDBOX_ID) == null || p.getStatus() == null ? List.of() : listOf(p.getStatus().getPodIP())));
    pods.addEventHandler(new PodEvents());

    var poolOps =
        namespace == null
            ? client.resources(SandboxPool.class).inAnyNamespace()
            : client.resources(SandboxPool.class).inNamespace(namespace);
    poolInformer = poolOps.runnableInformer(resyncMs);
    poolInformer.addEventHandler(new PoolEvents());
    templateInformer = client.resources(SandboxTemplate.class).runnableInformer(resyncMs);

    // Notes when the watches were last all up, so synced() can tell a reconnect from an outage.
    watchTimer = vertx.setPeriodic(500, id -> noteWatching());
    return Future.all(
            start("pods", pods), start("sandboxpools", poolInformer), start("sandboxtemplates", templateInformer))
        .<Void>mapEmpty()
        .onSuccess(v -> noteWatching());
  }

  private Future<Void> start(String what, SharedIndexInformer<?> informer) {
    return Future.fromCompletionStage(informer.start(), vertx.getOrCreateContext())
        .onSuccess(v -> LOG.info("informer for {} synced", what))
        .onFailure(e -> LOG.error("informer for {} failed to start: {}", what, e.toString()));
  }

  @Override
  public boolean synced() {
    long last = lastWatching; // noted every 500 ms while all informers watch
    return populated() && (watching() || last != 0 && System.nanoTime() - last < watchGapGraceNanos);
  }

  @Override
  public boolean watching() {
    return hasSynced(pods) && hasSynced(poolInformer) && hasSynced(templateInformer);
  }

  private void noteWatching() {
    if (watching()) {
      lastWatching = System.nanoTime();
    }
  }

  @Override
  public boolean populated() {
    return pods != null && pods.hasSynced() && poolInformer != null && poolInformer.hasSynced()
        && templateInformer != null && templateInformer.hasSynced();
  }

  private static boolean hasSynced(SharedIndexInformer<?> i) {
    return i != null && i.hasSynced() && i.isWatching();
  }

  @Override
  public Optional<Pod> podBySandboxId(String sandboxId) {
    return Pods.holder(podsBySandboxId(sandboxId));
  }

  @Override
  public List<Pod> podsBySandboxId(String sandboxId) {
    if (pods == null || sandboxId == null) {
      return List.of();
    }
    return pods.getIndexer().byIndex(BY_SANDBOX_ID, sandboxId);
  }

  @Override
  public Optional<Pod> podBySandboxIp(String podIp) {
    if (pods == null || podIp == null || podIp.isEmpty()) {
      return Optional.empty();
    }
    return pods.getIndexer().byIndex(BY_SANDBOX_IP, podIp).stream().findFirst();
  }

  @Override
  public Optional<Pod> pod(String namespace, String name) {
    return pods == null ? Optional.empty() : Optional.ofNullable(pods.getStore().getByKey(namespace + "/" + name));
  }

  @Override
  public List<Pod> pods() {
    return pods == null ? List.of() : pods.getStore().list();
  }

  @Override
  public List<Pod> pods(String namespace, String poolName, SandboxPhase phase) {
    return pods == null ? List.of() : pods.getIndexer().byIndex(BY_POOL_PHASE, poolPhaseKey(namespace, poolName, phase.wire()));
  }

  @Override
  public Iterable<Pod> claimablePods(String namespace, String poolName) {
    SharedIndexInformer<Pod> informer = pods;
    KeySample unmarked = claimable.get(claimKey(namespace, poolName, false));
    KeySample marked = claimable.get(claimKey(namespace, poolName, true));
    if (informer == null || unmarked == null && marked == null) {
      return List.of();
    }
    return () -> new Iterator<>() {
      final Walk[] walks = {new Walk(unmarked), new Walk(marked)};
      int w;
      Pod next = advance();

      private Pod advance() {
        for (; w < walks.length; w++) {
          Pod p = walks[w].next(informer, poolName);
          if (p != null) {
            return p;
          }
        }
        return null;
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public Pod next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        Pod p = next;
        next = advance();
        return p;
      }
    };
  }

  /**
   * One sample's pods from a random position, each position once: the pods as the store has them
   * now, those no longer claimable in the pool skipped. While pods come and go a pod may be missed
   * or seen twice (a removal moves the last key into the gap); each such change is a pod event,
   * which wakes whoever looks again.
   */
  private static final class Walk {
    private final KeySample sample;
    private final int n;
    private final int start;
    private int i;

    Walk(KeySample sample) {
      this.sample = sample;
      this.n = sample == null ? 0 : sample.size();
      this.start = n == 0 ? 0 : ThreadLocalRandom.current().nextInt(n);
    }

    Pod next(SharedIndexInformer<Pod> informer, String poolName) {
      while (i < n) {
        String key = sample.at(start + i++);
        Pod p = key == null ? null : informer.getStore().getByKey(key);
        if (p != null && poolName.equals(label(p, Labels.SANDBOX_POOL)) && Pods.claimable(p)) {
          return p;
        }
        if (p == null && key != null) {
          // Gone from the store. Its deletion event normally took it out, unless that event's
          // object differed from the pod last seen; a pod created again under the same name is
          // put back by its next event, at the latest the resync.
          sample.remove(key);
        }
      }
      return null;
    }
  }

  @Override
  public List<Pod> pods(String namespace, String poolName) {
    return pods == null ? List.of() : pods.getIndexer().byIndex(BY_POOL, poolKey(namespace, poolName));
  }

  @Override
  public PoolPodCounts podCounts(String namespace, String poolName) {
    PoolTally tally = tallies.get(poolKey(namespace, poolName));
    return tally == null ? PoolPodCounts.NONE : tally.counts();
  }

  @Override
  public Optional<SandboxPool> pool(String namespace, String name) {
    return poolInformer == null ? Optional.empty() : Optional.ofNullable(poolInformer.getStore().getByKey(namespace + "/" + name));
  }

  @Override
  public List<SandboxPool> pools() {
    return poolInformer == null ? List.of() : poolInformer.getStore().list();
  }

  @Override
  public Optional<SandboxTemplate> template(String name) {
    return templateInformer == null ? Optional.empty() : Optional.ofNullable(templateInformer.getStore().getByKey(name));
  }

  @Override
  public List<SandboxTemplate> templates() {
    return templateInformer == null ? List.of() : templateInformer.getStore().list();
  }

  @Override
  public Future<Void> stop() {
    if (watchTimer >= 0) {
      vertx.cancelTimer(watchTimer);
    }
    for (SharedIndexInformer<?> i : new SharedIndexInformer<?>[] {pods, poolInformer, templateInformer}) {
      if (i != null) {
        i.close();
      }
    }
    return Future.succeededFuture();
  }

  private static String ns(HasMetadata o) {
    return o.getMetadata().getNamespace();
  }

  private static String label(HasMetadata o, String key) {
    Map<String, String> l = o.getMetadata().getLabels();
    return l == null ? null : l.get(key);
  }

  private static List<String> listOf(String key) {
    return key == null ? List.of() : List.of(key);
  }

  private static String poolKey(String ns, String pool) {
    return pool == null ? null : ns + "/" + pool;
  }

  private static String poolPhaseKey(String ns, String pool, String phase) {
    return pool == null || phase == null ? null : ns + "/" + pool + "/" + phase;
  }

  private static SandboxPhase phase(Pod p) {
    return p == null ? null : SandboxPhase.fromWire(label(p, Labels.SANDBOX_PHASE)).orElse(null);
  }

  /** The claimable sample of a pool, those marked for scale-down or those not. */
  private static String claimKey(String ns, String pool, boolean marked) {
    return pool == null ? null : ns + "/" + pool + (marked ? "/claimable-marked" : "/claimable");
  }

  private static String poolPhaseKey(Pod p) {
    return poolPhaseKey(ns(p), label(p, Labels.SANDBOX_POOL), label(p, Labels.SANDBOX_PHASE));
  }

  /**
   * Keeps the claimable samples and the pool counts, and publishes pod changes on the bus;
   * runs on the informer thread, and the bus is thread-safe. Samples and counts change before the
   * event goes out, so whoever the event wakes finds the pod where it now is.
   */
  private final class PodEvents implements ResourceEventHandler<Pod> {
    @Override
    public void onAdd(Pod pod) {
      sample(null, pod);
      publish(null, pod);
    }

    @Override
    public void onUpdate(Pod oldPod, Pod newPod) {
      sample(oldPod, newPod);
      publish(oldPod, newPod);
      String held = label(oldPod, Labels.SANDBOX_ID);
      if (held != null && !held.equals(label(newPod, Labels.SANDBOX_ID))) {
        vertx.eventBus().publish(Bus.SANDBOX_ENDED, new Bus.SandboxEnded(oldPod));
      }
    }

    @Override
    public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
      sample(pod, null);
      vertx.eventBus()
          .publish(Bus.POD_CHANGED,
              new Bus.PodChanged(ns(pod), label(pod, Labels.SANDBOX_POOL), pod.getMetadata().getName(), phase(pod), null));
      // A deletion seen only as missing from a new list has no final state: nothing to tell of it.
      if (!deletedFinalStateUnknown && label(pod, Labels.SANDBOX_ID) != null) {
        vertx.eventBus().publish(Bus.SANDBOX_ENDED, new Bus.SandboxEnded(pod));
      }
    }

    /**
     * Moves the pod's key into the claimable sample it now belongs to, if any, and out of the
     * others of its old and new pool (whatever the old object said: a deletion's final state may
     * differ from the pod last seen), and its counts between pool tallies.
     */
    private void sample(Pod oldPod, Pod pod) {
      String key = key(pod != null ? pod : oldPod); // namespace/name: the same in both
      String ns = ns(pod != null ? pod : oldPod);
      String to = pod != null && Pods.claimable(pod) ? claimKey(ns, label(pod, Labels.SANDBOX_POOL), marked(pod)) : null;
      String oldPool = oldPod == null ? null : label(oldPod, Labels.SANDBOX_POOL);
      String newPool = pod == null ? null : label(pod, Labels.SANDBOX_POOL);
      leave(key, claimKey(ns, oldPool, false), to);
      leave(key, claimKey(ns, oldPool, true), to);
      if (newPool != null && !newPool.equals(oldPool)) {
        leave(key, claimKey(ns, newPool, false), to);
        leave(key, claimKey(ns, newPool, true), to);
      }
      if (to != null) {
        claimable.computeIfAbsent(to, k -> new KeySample()).add(key);
      }
      String fromPool = oldPod == null ? null : poolKey(ns(oldPod), label(oldPod, Labels.SANDBOX_POOL));
      String toPool = pod == null ? null : poolKey(ns(pod), label(pod, Labels.SANDBOX_POOL));
      PoolTally leftPool = fromPool == null || fromPool.equals(toPool) ? null : tallies.get(fromPool);
      if (leftPool != null) {
        leftPool.remove(key);
      }
      if (toPool != null) {
        tallies.computeIfAbsent(toPool, k -> new PoolTally()).put(key, PoolPodCounts.slots(pod));
      }
    }

    private void leave(String key, String sampleKey, String staysIn) {
      KeySample s = sampleKey == null || sampleKey.equals(staysIn) ? null : claimable.get(sampleKey);
      if (s != null) {
        s.remove(key);
      }
    }

    private boolean marked(Pod p) {
      return Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) != null;
    }

    private String key(Pod p) {
      return ns(p) + "/" + p.getMetadata().getName();
    }

    private void publish(Pod oldPod, Pod pod) {
      vertx.eventBus()
          .publish(Bus.POD_CHANGED,
              new Bus.PodChanged(ns(pod), label(pod, Labels.SANDBOX_POOL), pod.getMetadata().getName(), phase(oldPod), phase(pod)));
    }
  }

  /** Publishes pool changes on the bus. */
  private final class PoolEvents implements ResourceEventHandler<SandboxPool> {
    @Override
    public void onAdd(SandboxPool pool) {
      vertx.eventBus().publish(Bus.POOL_CHANGED, new Bus.PoolChanged(ns(pool), pool.getMetadata().getName(), false));
    }

    @Override
    public void onUpdate(SandboxPool oldPool, SandboxPool pool) {
      onAdd(pool);
    }

    @Override
    public void onDelete(SandboxPool pool, boolean deletedFinalStateUnknown) {
      vertx.eventBus().publish(Bus.POOL_CHANGED, new Bus.PoolChanged(ns(pool), pool.getMetadata().getName(), true));
    }
  }
}
