package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.lifecycle.KubeErrors;
import sh.navix.agentbox.api.lifecycle.PodUpdates;

/**
 * Kubernetes writes for the lifecycle, off the event loop (pod updates without a blocked thread,
 * see {@link PodUpdates}; the rarer writes on a worker thread). Updates are compare-and-swap: they
 * carry the resourceVersion of the object they were derived from, so a write based on a stale
 * read fails with 409 instead of overwriting someone else's change.
 *
 * <p>The reconcilers' writes wait their turn behind at most {@code maxInFlight} others (see
 * {@link WriteLimiter}); a write a user's request waits on ({@link #updateForCaller}, a DELETE's
 * release) does not queue behind them.
 */
public final class PodWriter {
  private final Vertx vertx;
  private final KubernetesClient client;
  private final MeterRegistry registry;
  private final WriteLimiter limiter;

  public PodWriter(Vertx vertx, KubernetesClient client, MeterRegistry registry, int maxInFlight) {
    this.vertx = vertx;
    this.client = client;
    this.registry = registry;
    this.limiter = new WriteLimiter(vertx, maxInFlight);
    Gauge.builder("agentbox_kube_writes_in_flight", limiter, WriteLimiter::inFlight)
        .description("Reconciler writes sent to the API server and not yet answered (at most --max-reconcile-writes)").register(registry);
    Gauge.builder("agentbox_kube_writes_waiting", limiter, WriteLimiter::waiting)
        .description("Reconciler writes waiting for one in flight to answer before they are sent").register(registry);
  }

  /** The bound on the reconcilers' writes, and their queue. */
  WriteLimiter limiter() {
    return limiter;
  }

  /** Counts one API write by verb and outcome (ok, conflict, notfound, error). */
  private <T> Future<T> counted(String verb, Future<T> f) {
    return f.andThen(ar -> registry.counter("agentbox_kube_writes_total", "verb", verb,
        "outcome", ar.succeeded() ? "ok" : KubeErrors.conflict(ar.cause()) ? "conflict" : KubeErrors.gone(ar.cause()) ? "notfound" : "error").increment());
  }

  /** CAS update of a pod derived from a cached copy, holding no thread while the API server answers. */
  public Future<Pod> update(Pod changed) {
    return counted("update", limiter.submit(() -> PodUpdates.update(vertx, client, changed)));
  }

  /** {@link #update}, sent at once: for a write a user's request is waiting on. */
  public Future<Pod> updateForCaller(Pod changed) {
    return counted("update", PodUpdates.update(vertx, client, changed));
  }

  /** The pod as the API server has it now (empty when there is none): for a writer the cache has left behind. */
  public Future<java.util.Optional<Pod>> read(String namespace, String name) {
    return PodUpdates.get(vertx, client, namespace, name);
  }

  public Future<Pod> create(Pod pod) {
    return counted("create", blocking(() -> client.pods().inNamespace(pod.getMetadata().getNamespace()).resource(pod).create()));
  }

  /** Deletes a pod; a pod already gone counts as deleted. */
  public Future<Void> delete(String namespace, String name) {
    return delete(namespace, name, null);
  }

  /**
   * Deletes the pod only as it was at {@code resourceVersion} (a delete precondition; none when
   * null): if anyone changed it since (a claim), the API server answers 409 and nothing is deleted.
   */
  public Future<Void> delete(String namespace, String name, String resourceVersion) {
    return counted("delete", this.<Void>blocking(() -> {
      var pod = client.pods().inNamespace(namespace).withName(name);
      if (resourceVersion == null) {
        pod.delete();
      } else {
        pod.lockResourceVersion(resourceVersion).delete();
      }
      return null;
    }));
  }

  /** Writes a pool's status subresource. */
  public Future<SandboxPool> updateStatus(SandboxPool pool) {
    return counted("update_status", blocking(() -> client.resources(SandboxPool.class).inNamespace(pool.getMetadata().getNamespace()).resource(pool).updateStatus()));
  }

  /** CAS update of a pool's spec/metadata. */
  public Future<SandboxPool> updatePool(SandboxPool pool) {
    return counted("update_pool", blocking(() -> client.resources(SandboxPool.class).inNamespace(pool.getMetadata().getNamespace()).resource(pool).update()));
  }

  /** A write made with the client's blocking API, on a worker thread, in its turn among the reconcilers' writes. */
  private <T> Future<T> blocking(java.util.concurrent.Callable<T> write) {
    return limiter.submit(() -> vertx.executeBlocking(write, false));
  }

  static String key(HasMetadata o) {
    return o.getMetadata().getNamespace() + "/" + o.getMetadata().getName();
  }
}
