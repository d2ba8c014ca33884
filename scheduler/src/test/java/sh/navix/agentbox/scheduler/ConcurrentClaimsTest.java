package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.CreateSandboxInput;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.reconciler.ReconcilerOptions;
import sh.navix.agentbox.reconciler.Reconcilers;
import sh.navix.agentbox.reconciler.history.H2HistoryStore;

/**
 * Two gateway replicas (each its own cache and scheduler) claim from one pool at once: more
 * requests than idle pods. No pod may go to two sandboxes; every request ends with a sandbox or a
 * 409; no pod is left starting without the request that claimed it.
 */
class ConcurrentClaimsTest {
  @TempDir static Path home;
  static Vertx clusterVertx;
  static DevCluster cluster;
  static final List<Replica> replicas = new ArrayList<>();

  /** The claim side of one gateway process. */
  static final class Replica {
    final Vertx vertx = Vertx.vertx();
    final KubernetesClient client;
    final ClusterCache cache;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Reconcilers reconcilers;

    Replica() throws Exception {
      Bus.registerCodecs(vertx.eventBus());
      Config config = new ConfigBuilder().withMasterUrl(cluster.masterUrl()).withRequestTimeout(10_000).build();
      client = new KubernetesClientBuilder().withConfig(config).build();
      cache = ClusterCache.create(vertx, client, null, Duration.ofMinutes(5));
      cache.start().await(30, TimeUnit.SECONDS);
      vertx.deployVerticle(new ClaimScheduler(client, cache, registry, new SchedulerOptions())).await(10, TimeUnit.SECONDS);
    }

    Future<Bus.ClaimReply> claim(String id, String pool, Duration budget) {
      CreateSandboxInput in = new CreateSandboxInput(pool, "default", "example/sandbox:2", null, null, null, null, null, null, null, null, null);
      return vertx.eventBus().<Bus.ClaimReply>request(Bus.CLAIM, new Bus.ClaimRequest(id, in, budget), new DeliveryOptions().setSendTimeout(60_000))
          .map(m -> m.body());
    }
  }

  @BeforeAll
  static void start() throws Exception {
    clusterVertx = Vertx.vertx();
    cluster = DevCluster.start(clusterVertx, new DevClusterOptions().setPullDelay(Duration.ofMillis(100))).await(30, TimeUnit.SECONDS);
    Replica a = new Replica();
    Replica b = new Replica();
    replicas.add(a);
    replicas.add(b);
    ReconcilerOptions o = new ReconcilerOptions();
    o.identity = "claims-test";
    o.tick = Duration.ofMillis(100);
    a.reconcilers = Reconcilers.start(a.vertx, a.client, a.cache,
        H2HistoryStore.open(a.vertx, home.resolve("history"), Duration.ZERO).await(10, TimeUnit.SECONDS),
        new SimpleMeterRegistry(), o).await(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    for (Replica r : replicas) {
      if (r.reconcilers != null) {
        r.reconcilers.stop().await(10, TimeUnit.SECONDS);
      }
      r.cache.stop().await(10, TimeUnit.SECONDS);
      r.client.close();
      r.vertx.close().await(10, TimeUnit.SECONDS);
    }
    cluster.stop().await(30, TimeUnit.SECONDS);
    clusterVertx.close().await(10, TimeUnit.SECONDS);
  }

  static <T> T await(String what, Duration timeout, Supplier<T> probe) {
    return sh.navix.agentbox.devcluster.Await.until(what, timeout, probe);
  }

  @Test
  void sixtyFourCreatesOnTwoReplicasOverSixteenPods() throws Exception {
    KubernetesClient admin = cluster.client();
    createPool(admin, "race", 16);
    for (Replica r : replicas) {
      await("16 claimable pods in the replica's cache", Duration.ofSeconds(30),
          () -> r.cache.pods("default", "race", SandboxPhase.IDLE).stream().filter(Pods::claimable).count() == 16 ? true : null);
    }

    List<Future<Bus.ClaimReply>> replies = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      replies.add(replicas.get(i % 2).claim("race" + i, "race", Duration.ofSeconds(2)));
    }
    Future.join(replies).await(60, TimeUnit.SECONDS);

    Set<String> pods = new HashSet<>();
    Set<String> winners = new HashSet<>();
    int conflicts = 0;
    for (Future<Bus.ClaimReply> f : replies) {
      Bus.ClaimReply r = f.result();
      assertThat(r).as("every request ends").isNotNull();
      if (r.sandbox() != null) {
        assertThat(pods.add(r.sandbox().podName())).as("pod %s handed out twice", r.sandbox().podName()).isTrue();
        winners.add(r.sandbox().sandboxId());
      } else {
        assertThat(r.error().status()).isEqualTo(409);
        conflicts++;
      }
    }
    assertThat(winners).hasSize(16);
    assertThat(conflicts).isEqualTo(48);

    // What the cluster holds agrees: one sandbox per pod, each one a request that got its answer.
    List<Pod> claimed = await("claims visible", Duration.ofSeconds(10), () -> {
      List<Pod> l = admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "race").list().getItems().stream()
          .filter(p -> Pods.sandboxId(p) != null).toList();
      return l.size() == 16 ? l : null;
    });
    Map<String, String> byPod = new java.util.HashMap<>();
    for (Pod p : claimed) {
      byPod.put(p.getMetadata().getName(), Pods.sandboxId(p));
    }
    assertThat(byPod.values()).containsExactlyInAnyOrderElementsOf(winners);
  }

  /**
   * A replica whose cache lags behind its own claims (here: its idle list frozen before the first
   * claim) still never races itself: each claim takes a pod it has not already claimed, first
   * time, with no lost compare-and-swap.
   */
  @Test
  void aReplicaWhoseCacheLagsDoesNotRaceItsOwnClaims() throws Exception {
    Replica b = replicas.get(1);
    List<Pod> frozen = newPool(b, "lag", 8);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ClusterCache view = overriding(b.cache, (method, args) -> {
      if (idleOf(method, args, "lag")) {
        return frozen;
      }
      if (method.equals("pod") && args != null && args.length == 2 && frozen.stream().anyMatch(p -> Pods.name(p).equals(args[1]))) {
        return frozen.stream().filter(p -> Pods.name(p).equals(args[1])).findFirst();
      }
      return PASS;
    });
    onScheduler(view, b.client, registry, lagging -> {
      Set<String> pods = new HashSet<>();
      for (int i = 0; i < 8; i++) {
        Bus.ClaimReply r = claim(lagging, "lag" + i, "lag");
        assertThat(r.error()).as("claim %d", i).isNull();
        assertThat(pods.add(r.sandbox().podName())).as("pod %s handed out twice", r.sandbox().podName()).isTrue();
      }
      assertThat(registry.counter("agentbox_claim_conflicts_total").count()).as("claims that raced this replica's own earlier claims").isZero();
    });
  }

  /**
   * The same sandbox asked of two replicas (an idempotent retry sent to another replica while the
   * first request waited): a request waiting in one replica's queue while another replica claims
   * its sandbox answers with that claim when its queue is next served, never with a second pod.
   */
  @Test
  void aQueuedRequestWhoseSandboxAnotherReplicaClaimedGetsThatClaim() throws Exception {
    KubernetesClient admin = cluster.client();
    createPool(admin, "twice", 2);
    Replica a = replicas.get(0);
    Replica b = replicas.get(1);
    await("2 claimable pods in the replicas' caches", Duration.ofSeconds(30), () -> a.cache.pods("default", "twice", SandboxPhase.IDLE)
        .stream().filter(Pods::claimable).count() == 2 && b.cache.pods("default", "twice", SandboxPhase.IDLE).size() == 2 ? true : null);
    // This replica sees no idle pod yet (its view lags), so its request waits in the queue.
    ClusterCache view = overriding(b.cache, (method, args) -> idleOf(method, args, "twice") ? List.of() : PASS);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    onScheduler(view, b.client, registry, lagging -> {
      CreateSandboxInput in = new CreateSandboxInput("twice", "default", "example/idle:1", null, null, null, null, null, null, null, null, null);
      Future<Bus.ClaimReply> waiting = lagging.eventBus().<Bus.ClaimReply>request(Bus.CLAIM, new Bus.ClaimRequest("twicekey", in,
          Duration.ofSeconds(3)), new DeliveryOptions().setSendTimeout(30_000)).map(m -> m.body());
      await("the request waits in the queue", Duration.ofSeconds(10), () -> {
        var g = registry.find("agentbox_claim_queue_length").tag("pool", "twice").gauge();
        return g != null && g.value() == 1 ? true : null;
      });
      Bus.ClaimReply first = a.claim("twicekey", "twice", Duration.ofSeconds(5)).await(30, TimeUnit.SECONDS);
      assertThat(first.error()).isNull();
      await("the claim in the lagging replica's cache", Duration.ofSeconds(10), () -> b.cache.podBySandboxId("twicekey").orElse(null));
      // Another create on the lagging replica serves its queue again.
      claim(lagging, "twicetrigger", "twice");

      Bus.ClaimReply second = waiting.await(30, TimeUnit.SECONDS);
      assertThat(second.error()).as("the waiting request's answer").isNull();
      assertThat(second.sandbox().podName()).isEqualTo(first.sandbox().podName());
      assertThat(admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, "twicekey").list().getItems()).hasSize(1);
    });
  }

  /**
   * While a watch reconnects (the API server ends watches every few minutes) the cache is filled
   * but not watching: claims go on. Only a cache that never listed refuses them, with 503.
   */
  @Test
  void claimsGoOnWhileAWatchReconnectsAndWaitForTheFirstList() throws Exception {
    Replica a = replicas.get(0);
    KubernetesClient admin = cluster.client();
    createPool(admin, "rewatch", 2);
    await("2 claimable pods in the replica's cache", Duration.ofSeconds(30),
        () -> a.cache.pods("default", "rewatch", SandboxPhase.IDLE).stream().filter(Pods::claimable).count() == 2 ? true : null);

    Vertx reconnecting = schedulerOn(overriding(a.cache, (method, args) -> method.equals("synced") ? false : PASS), a.client, new SimpleMeterRegistry());
    Vertx neverListed = schedulerOn(overriding(a.cache, (method, args) -> method.equals("synced") || method.equals("populated") ? false : PASS),
        a.client, new SimpleMeterRegistry());
    try {
      Bus.ClaimReply ok = claim(reconnecting, "rewatch1", "rewatch");
      assertThat(ok.error()).as("claim while the watch reconnects").isNull();
      assertThat(ok.sandbox().poolName()).isEqualTo("rewatch");
      Bus.ClaimReply refused = claim(neverListed, "rewatch2", "rewatch");
      assertThat(refused.sandbox()).isNull();
      assertThat(refused.error().status()).isEqualTo(503);
      assertThat(a.cache.podBySandboxId("rewatch2")).as("the refused claim took no pod").isEmpty();
    } finally {
      reconnecting.close().await(10, TimeUnit.SECONDS);
      neverListed.close().await(10, TimeUnit.SECONDS);
    }
  }

  static void createPool(KubernetesClient admin, String name, int replicas) {
    sh.navix.agentbox.devcluster.Pools.create(admin, name, replicas);
  }

  /** A new pool of {@code size} pods, once all of them are claimable in {@code r}'s cache: those pods. */
  static List<Pod> newPool(Replica r, String name, int size) {
    createPool(cluster.client(), name, size);
    return await(size + " claimable pods in the replica's cache", Duration.ofSeconds(30), () -> {
      List<Pod> idle = r.cache.pods("default", name, SandboxPhase.IDLE).stream().filter(Pods::claimable).toList();
      return idle.size() == size ? idle : null;
    });
  }

  /**
   * The client library resends a write whose answer was lost (connection reset, 5xx); when the
   * first attempt went through, the resend meets a 409. That claim must stand, on that pod, not
   * become a lost race that claims a second pod for the same sandbox.
   */
  @Test
  void aClaimWhoseFirstAttemptWentThroughIsNotMadeTwice() throws Exception {
    KubernetesClient admin = cluster.client();
    Replica b = replicas.get(1);
    Pod target = newPool(b, "resend", 2).get(0);
    // The first attempt went through; its answer never came back.
    admin.pods().inNamespace("default").resource(sh.navix.agentbox.api.lifecycle.PodTransitions.claim(target,
        new sh.navix.agentbox.api.lifecycle.PodTransitions.ClaimSpec("resent1", Map.of(), null, null, null, Duration.ofMinutes(2), null, null,
            null, null, Instant.now()))).update();
    // The scheduler's cache has not seen it: the pod still idle, the sandbox unknown.
    ClusterCache view = overriding(b.cache, (method, args) -> {
      if (idleOf(method, args, "resend")) {
        return List.of(target);
      }
      if (method.equals("pod") && args != null && args.length == 2 && Pods.name(target).equals(args[1])) {
        return java.util.Optional.of(target);
      }
      if (method.equals("podBySandboxId") && "resent1".equals(args[0])) {
        return java.util.Optional.empty();
      }
      return PASS;
    });
    onScheduler(view, b.client, new SimpleMeterRegistry(), resending -> {
      Bus.ClaimReply r = claim(resending, "resent1", "resend");
      assertThat(r.error()).as("the claim that went through stands").isNull();
      assertThat(r.sandbox().podName()).isEqualTo(Pods.name(target));
      assertThat(admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, "resent1").list().getItems())
          .as("pods holding the sandbox").hasSize(1);
    });
  }

  /**
   * A pod the cache still shows idle has been deleted since (scaled down, evicted, its finalizer
   * taken off by hand): the claim's write answers 404. The request takes another pod, as after a
   * lost race, instead of failing as if the API server could not be reached.
   */
  @Test
  void aClaimOnAPodDeletedSinceTheCacheSawItTakesAnotherPod() throws Exception {
    KubernetesClient admin = cluster.client();
    Replica b = replicas.get(1);
    List<Pod> frozen = newPool(b, "vanish", 2);
    Pod gone = frozen.get(0);
    var podOps = admin.pods().inNamespace("default").withName(Pods.name(gone));
    TestPods.release(admin, Pods.name(gone)); // the finalizer off (a merge patch: the node may be writing the pod's status)
    podOps.withGracePeriod(0).delete();
    await("the pod gone from the API server", Duration.ofSeconds(10), () -> podOps.get() == null ? true : null);
    // The scheduler's cache has not heard of the deletion: both pods still idle, the gone one first.
    ClusterCache view = overriding(b.cache, (method, args) -> {
      if (idleOf(method, args, "vanish")) {
        return frozen;
      }
      if (method.equals("pod") && args != null && args.length == 2 && Pods.name(gone).equals(args[1])) {
        return java.util.Optional.of(gone);
      }
      return PASS;
    });
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    onScheduler(view, b.client, registry, lagging -> {
      Bus.ClaimReply r = claim(lagging, "vanish1", "vanish");
      assertThat(r.error()).as("the claim's answer").isNull();
      assertThat(r.sandbox().podName()).isEqualTo(Pods.name(frozen.get(1)));
      assertThat(admin.pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, "vanish1").list().getItems())
          .extracting(Pods::name).containsExactly(Pods.name(frozen.get(1)));
      assertThat(registry.counter("agentbox_claim_pod_gone_total").count()).as("claims that found their pod deleted").isEqualTo(1);
      assertThat(registry.find("agentbox_claim_unconfirmed_total").counters()).as("claims with an unknown outcome").isEmpty();
    });
  }

  /**
   * How long the replica's cache took to show its own claim, from the write's answer, is measured:
   * here the cache is held back until after the answer, and the lag recorded covers that time.
   */
  @Test
  void howFarTheCacheTrailsAClaimIsMeasured() throws Exception {
    Replica b = replicas.get(1);
    Pod pod = newPool(b, "trail", 1).get(0);
    java.util.concurrent.atomic.AtomicBoolean held = new java.util.concurrent.atomic.AtomicBoolean(true);
    ClusterCache view = overriding(b.cache, (method, args) -> held.get() && method.equals("pod") && args != null && args.length == 2
        && Pods.name(pod).equals(args[1]) ? java.util.Optional.of(pod) : PASS);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    onScheduler(view, b.client, registry, trailing -> {
      assertThat(claim(trailing, "trail1", "trail").error()).isNull();
      long answered = System.nanoTime();
      await("the claim in the replica's own cache", Duration.ofSeconds(10), () -> b.cache.podBySandboxId("trail1").orElse(null));
      assertThat(registry.timer("agentbox_claim_cache_lag_seconds").count()).as("lags recorded while the view holds back").isZero();
      held.set(false);
      long shown = System.nanoTime();
      // The pod event the view would have sent (this scheduler has a bus of its own, which the cache does not publish on).
      trailing.eventBus().publish(Bus.POD_CHANGED, new Bus.PodChanged("default", "trail", Pods.name(pod), SandboxPhase.IDLE, SandboxPhase.STARTING));
      var lag = registry.timer("agentbox_claim_cache_lag_seconds");
      await("the lag recorded", Duration.ofSeconds(10), () -> lag.count() == 1 ? true : null);
      assertThat((long) lag.totalTime(TimeUnit.NANOSECONDS)).as("the lag, at least from the answer until the view showed the claim")
          .isGreaterThanOrEqualTo(shown - answered);
    });
  }

  /**
   * A pool deleted while a create waits for one of its pods: the create is answered 404 at once,
   * as one naming the pool afterwards is, not 409 "no idle pod" when its wait budget runs out; the
   * pool's queue metric goes with it.
   */
  @Test
  void aCreateWaitingOnAPoolThatIsDeletedIsAnswered404() throws Exception {
    KubernetesClient admin = cluster.client();
    createPool(admin, "doomed", 0);
    Replica b = replicas.get(1);
    await("the pool in the replica's cache", Duration.ofSeconds(10), () -> b.cache.pool("default", "doomed").orElse(null));
    Future<Bus.ClaimReply> waiting = b.claim("doomed1", "doomed", Duration.ofSeconds(60));
    var queued = b.registry.find("agentbox_claim_queue_length").tag("pool", "doomed");
    await("the create waits in the queue", Duration.ofSeconds(10), () -> queued.gauge() != null && queued.gauge().value() == 1 ? true : null);

    admin.resources(sh.navix.agentbox.api.crd.SandboxPool.class).inNamespace("default").withName("doomed").delete();
    Bus.ClaimReply r = waiting.await(20, TimeUnit.SECONDS);
    assertThat(r.sandbox()).isNull();
    assertThat(r.error().status()).as("the answer: %s", r.error().getError()).isEqualTo(404);
    assertThat(r.error().getError()).contains("pool default/doomed was deleted");
    await("the pool's queue metric gone", Duration.ofSeconds(10), () -> queued.gauge() == null ? true : null);
  }

  /** Returned by an override to let the call through to the real cache. */
  static final Object PASS = new Object();

  /** Whether a cache call asks for pool {@code pool}'s idle pods: as a list by phase, or the claimable ones a claim picks from. */
  static boolean idleOf(String method, Object[] args, String pool) {
    return method.equals("pods") && args != null && args.length == 3 && pool.equals(args[1]) && args[2] == SandboxPhase.IDLE
        || method.equals("claimablePods") && args != null && args.length == 2 && pool.equals(args[1]);
  }

  /** A view of {@code base} whose answers {@code override} may replace (by method name and arguments). */
  static ClusterCache overriding(ClusterCache base, java.util.function.BiFunction<String, Object[], Object> override) {
    return (ClusterCache) java.lang.reflect.Proxy.newProxyInstance(ClusterCache.class.getClassLoader(), new Class<?>[] {ClusterCache.class},
        (proxy, method, args) -> {
          Object r = override.apply(method.getName(), args);
          if (r != PASS) {
            return r;
          }
          try {
            return method.invoke(base, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /** What a test does with a scheduler of its own. */
  interface OnScheduler {
    void run(Vertx scheduler) throws Exception;
  }

  /** Runs {@code test} against a scheduler of its own over {@code cache} ({@link #schedulerOn}), closed afterwards. */
  static void onScheduler(ClusterCache cache, KubernetesClient client, SimpleMeterRegistry registry, OnScheduler test) throws Exception {
    Vertx scheduler = schedulerOn(cache, client, registry);
    try {
      test.run(scheduler);
    } finally {
      scheduler.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** A claim scheduler of its own (its own Vert.x, so its own bus address) over {@code cache}. */
  static Vertx schedulerOn(ClusterCache cache, KubernetesClient client, SimpleMeterRegistry registry) throws Exception {
    Vertx v = Vertx.vertx();
    Bus.registerCodecs(v.eventBus());
    v.deployVerticle(new ClaimScheduler(client, cache, registry, new SchedulerOptions())).await(10, TimeUnit.SECONDS);
    return v;
  }

  static Bus.ClaimReply claim(Vertx v, String id, String pool) throws Exception {
    CreateSandboxInput in = new CreateSandboxInput(pool, "default", "example/idle:1", null, null, null, null, null, null, null, null, null);
    return v.eventBus().<Bus.ClaimReply>request(Bus.CLAIM, new Bus.ClaimRequest(id, in, Duration.ofSeconds(5)),
        new DeliveryOptions().setSendTimeout(30_000)).await(30, TimeUnit.SECONDS).body();
  }
}
