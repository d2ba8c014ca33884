package sh.navix.agentbox.api.cache;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import sh.navix.agentbox.api.cache.impl.InformerClusterCache;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxTemplate;

/**
 * The process's read model of the cluster: informers on managed pods, SandboxPools and
 * SandboxTemplates, with indexes for the hot paths (pod by sandbox id, pods by pool and phase).
 * Every hot-path read comes from here; nothing on a request path LISTs the API server. Pod
 * changes are also published on {@link sh.navix.agentbox.api.bus.Bus#POD_CHANGED} (and a pod that
 * stops holding a sandbox on {@link sh.navix.agentbox.api.bus.Bus#SANDBOX_ENDED}), pool changes on
 * {@link sh.navix.agentbox.api.bus.Bus#POOL_CHANGED}. Objects handed out are the cache's own: never
 * mutate them (the lifecycle transitions copy before changing).
 */
public interface ClusterCache {

  /** How long {@link #synced()} stays true after a watch drops, so a routine reconnect is not an outage. */
  Duration WATCH_GAP_GRACE = Duration.ofSeconds(15);

  /** A cache over {@code namespace} (null: all namespaces), resynced every {@code resync}. */
  static ClusterCache create(Vertx vertx, KubernetesClient client, String namespace, Duration resync) {
    return create(vertx, client, namespace, resync, WATCH_GAP_GRACE);
  }

  /** The same, with {@link #synced()} tolerating a watch gap of up to {@code watchGapGrace}. */
  static ClusterCache create(Vertx vertx, KubernetesClient client, String namespace, Duration resync, Duration watchGapGrace) {
    return new InformerClusterCache(vertx, client, namespace, resync, watchGapGrace);
  }

  /** Starts the informers; completes once every informer has synced its initial list. */
  Future<Void> start();

  /**
   * Whether every informer has synced and is watching, or was watching until less than the watch
   * gap grace ago: the API server ends watches every few minutes and the informer reconnects, which
   * is no reason to report the process not ready. Readiness and gRPC health use this.
   */
  boolean synced();

  /** Whether every informer is watching at this moment. */
  boolean watching();

  /**
   * Whether every informer has listed at least once, so the cache holds the cluster's state
   * (possibly stale while a watch reconnects). The data plane keeps routing on this during an
   * API server blip; readiness uses {@link #synced()}.
   */
  boolean populated();

  /** The live pod holding {@code sandboxId}, if any. */
  Optional<Pod> podBySandboxId(String sandboxId);

  /**
   * Every pod holding {@code sandboxId}: one, unless two claims for the same sandbox raced on two
   * replicas (the leader then releases all but one).
   */
  List<Pod> podsBySandboxId(String sandboxId);

  /** The live pod with this IP that holds a sandbox, if any. */
  Optional<Pod> podBySandboxIp(String podIp);

  /** A managed pod by namespace and name. */
  Optional<Pod> pod(String namespace, String name);

  /** Every managed pod. */
  List<Pod> pods();

  /** Pods of a pool in one phase. */
  List<Pod> pods(String namespace, String poolName, SandboxPhase phase);

  /**
   * The pool's pods a claim may take ({@link sh.navix.agentbox.api.lifecycle.Pods#claimable}: idle,
   * Ready, not being deleted, protected by the sandbox finalizer), one at a time from a random one,
   * without copying them: those not marked for scale-down first, then the marked ones. Kept apart
   * from the pool's other pods as pod events come, so a claim looks only at pods it could take,
   * however many idle pods are still starting their containers. While pods change a pod may be
   * missed or seen twice, and one no longer claimable is skipped; each such change is followed by
   * its pod event.
   */
  Iterable<Pod> claimablePods(String namespace, String poolName);

  /**
   * How many pods of a pool are in each phase, kept from pod events: constant time, whatever the
   * pool's size. May trail {@link #pods(String, String)} by the events not yet handled; never by
   * more than the pod events still to come.
   */
  PoolPodCounts podCounts(String namespace, String poolName);

  /** All pods of a pool, whatever their phase. */
  List<Pod> pods(String namespace, String poolName);

  Optional<SandboxPool> pool(String namespace, String name);

  List<SandboxPool> pools();

  Optional<SandboxTemplate> template(String name);

  List<SandboxTemplate> templates();

  /** Stops the informers. */
  Future<Void> stop();
}
