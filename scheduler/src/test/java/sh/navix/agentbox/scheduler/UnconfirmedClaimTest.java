package sh.navix.agentbox.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.net.NetServer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.CreateSandboxInput;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.reconciler.ReconcilerOptions;
import sh.navix.agentbox.reconciler.Reconcilers;
import sh.navix.agentbox.reconciler.history.H2HistoryStore;

/**
 * A claim write whose outcome the scheduler cannot know: the API server applied it but the answer
 * never came back (or it never arrived at all). The create gets 503; what becomes of the sandbox
 * then depends on whether a retry of the create got it. The scheduler writes through a TCP hop
 * that can swallow answers; its cache reads the cluster directly, as a replica whose watch still
 * works while its writes time out.
 */
class UnconfirmedClaimTest {
  @TempDir static Path home;
  static Vertx clusterVertx;
  static DevCluster cluster;
  static Vertx leader;
  static KubernetesClient leaderClient;
  static ClusterCache leaderCache;
  static Reconcilers reconcilers;
  static Vertx replica;
  static KubernetesClient direct;
  static KubernetesClient viaHop;
  static ClusterCache cache;
  static NetServer hop;
  static final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  /** Release requests the scheduler sent, by sandbox id. */
  static final Set<String> released = ConcurrentHashMap.newKeySet();

  enum Mode { FORWARD, ANSWERS_LOST, REQUESTS_LOST }

  static volatile Mode mode = Mode.FORWARD;

  @BeforeAll
  static void start() throws Exception {
    clusterVertx = Vertx.vertx();
    cluster = DevCluster.start(clusterVertx, new DevClusterOptions().setPullDelay(Duration.ofMillis(100))).await(30, TimeUnit.SECONDS);
    // A leader elsewhere keeps the pools warm.
    leader = Vertx.vertx();
    Bus.registerCodecs(leader.eventBus());
    leaderClient = new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl(cluster.masterUrl()).build()).build();
    leaderCache = ClusterCache.create(leader, leaderClient, null, Duration.ofMinutes(5));
    leaderCache.start().await(30, TimeUnit.SECONDS);
    ReconcilerOptions o = new ReconcilerOptions();
    o.identity = "unconfirmed-test-leader";
    o.tick = Duration.ofMillis(100);
    reconcilers = Reconcilers.start(leader, leaderClient, leaderCache,
        H2HistoryStore.open(leader, home.resolve("history"), Duration.ZERO).await(10, TimeUnit.SECONDS),
        new SimpleMeterRegistry(), o).await(10, TimeUnit.SECONDS);

    replica = Vertx.vertx();
    Bus.registerCodecs(replica.eventBus());
    URI api = URI.create(cluster.masterUrl());
    var to = replica.createNetClient();
    hop = replica.createNetServer().connectHandler(in -> {
      in.pause();
      to.connect(api.getPort(), api.getHost()).onSuccess(out -> {
        in.handler(b -> {
          if (mode != Mode.REQUESTS_LOST) {
            out.write(b);
          }
        });
        out.handler(b -> {
          if (mode == Mode.FORWARD) {
            in.write(b);
          }
        });
        in.closeHandler(v -> out.close());
        out.closeHandler(v -> in.close());
        in.resume();
      }).onFailure(e -> in.close());
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    // Writes give up after a second, without the client library's resends.
    Config writes = new ConfigBuilder().withMasterUrl("http://127.0.0.1:" + hop.actualPort()).withRequestTimeout(1_000)
        .withRequestRetryBackoffLimit(0).build();
    viaHop = new KubernetesClientBuilder().withConfig(writes).build();
    direct = new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl(cluster.masterUrl()).build()).build();
    cache = ClusterCache.create(replica, direct, null, Duration.ofMinutes(5));
    cache.start().await(30, TimeUnit.SECONDS);
    replica.eventBus().<Bus.ReleaseRequest>consumer(Bus.RELEASE, m -> {
      released.add(m.body().sandboxId());
      m.reply(null);
    });
    SchedulerOptions so = new SchedulerOptions();
    so.ambiguousClaimWatch = Duration.ofSeconds(4);
    replica.deployVerticle(new ClaimScheduler(viaHop, cache, registry, so)).await(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    mode = Mode.FORWARD;
    replica.close().await(10, TimeUnit.SECONDS);
    viaHop.close();
    direct.close();
    reconcilers.stop().await(10, TimeUnit.SECONDS);
    leaderCache.stop().await(10, TimeUnit.SECONDS);
    leaderClient.close();
    leader.close().await(10, TimeUnit.SECONDS);
    cluster.stop().await(30, TimeUnit.SECONDS);
    clusterVertx.close().await(10, TimeUnit.SECONDS);
  }

  static void pool(String name) {
    ConcurrentClaimsTest.createPool(cluster.client(), name, 2);
    Await.until("2 claimable pods of " + name + " in the cache", Duration.ofSeconds(30),
        () -> cache.pods("default", name, SandboxPhase.IDLE).stream().filter(Pods::claimable).count() == 2 ? true : null);
  }

  /** A create through the scheduler while the hop is in {@code during}; the hop forwards again afterwards. */
  static Bus.ClaimReply claimWhile(Mode during, String id, String pool, boolean retryable) throws Exception {
    return claimWhile(during, id, pool, retryable, null);
  }

  static Bus.ClaimReply claimWhile(Mode during, String id, String pool, boolean retryable, Duration idleTimeout) throws Exception {
    CreateSandboxInput in = new CreateSandboxInput(pool, "default", "example/sandbox:2", null, null, null, null, null, idleTimeout, null, null, null);
    mode = during;
    try {
      return replica.eventBus().<Bus.ClaimReply>request(Bus.CLAIM, new Bus.ClaimRequest(id, in, Duration.ofSeconds(5), retryable),
          new DeliveryOptions().setSendTimeout(30_000)).await(30, TimeUnit.SECONDS).body();
    } finally {
      mode = Mode.FORWARD;
    }
  }

  static double outcomes(String outcome) {
    var c = registry.find("agentbox_claim_unconfirmed_total").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  static List<Pod> holders(String id) {
    return cluster.client().pods().inNamespace("default").withLabel(Labels.SANDBOX_ID, id).list().getItems();
  }

  @Test
  void aClaimWhoseAnswerWasLostIsKeptWhenARetryOfItsCreateGotIt() throws Exception {
    pool("kept");
    Bus.ClaimReply r = claimWhile(Mode.ANSWERS_LOST, "keptkey", "kept", true);
    assertThat(r.error().status()).isEqualTo(503);
    assertThat(r.error().getMessage()).contains("Idempotency-Key");
    // The write went through; the client's retry is answered with the sandbox it made.
    Await.until("the claim in the cache", Duration.ofSeconds(10), () -> cache.podBySandboxId("keptkey").orElse(null));
    replica.eventBus().send(Bus.CLAIM_ANSWERED, new Bus.ClaimAnswered("keptkey"));

    Await.until("the unconfirmed claim handed to the retry", Duration.ofSeconds(20), () -> outcomes("answered") == 1 ? true : null);
    assertThat(released).as("sandboxes released by the scheduler").doesNotContain("keptkey");
    assertThat(holders("keptkey")).as("pods holding the sandbox the retry got").hasSize(1);
  }

  @Test
  void aClaimWhoseAnswerWasLostAndThatNoRetryGotIsReleased() throws Exception {
    pool("orphan");
    Bus.ClaimReply r = claimWhile(Mode.ANSWERS_LOST, "orphankey", "orphan", true);
    assertThat(r.error().status()).isEqualTo(503);
    Await.until("the unconfirmed claim released at the end of the window", Duration.ofSeconds(20),
        () -> released.contains("orphankey") ? true : null);
    assertThat(outcomes("released")).isGreaterThanOrEqualTo(1);
    assertThat(holders("orphankey")).as("the claim was applied").hasSize(1);
  }

  /**
   * A retry during the same outage also ends unconfirmed, on another pod: both writes went through,
   * nobody got the sandbox, so both pods are let go (the release ends it on every holder), not
   * taken for another replica's claim.
   */
  @Test
  void twoUnconfirmedClaimsOfOneSandboxAreBothReleased() throws Exception {
    pool("twice");
    // A replica whose watch lags as well: it does not see that the sandbox is held already, so
    // the retry claims a second pod (through the same hop, its answer lost too).
    ClusterCache lagging = ConcurrentClaimsTest.overriding(cache, (method, args) ->
        method.equals("podBySandboxId") && "twicekey".equals(args[0]) ? java.util.Optional.empty() : ConcurrentClaimsTest.PASS);
    Vertx other = Vertx.vertx();
    Bus.registerCodecs(other.eventBus());
    Set<String> releasedThere = ConcurrentHashMap.newKeySet();
    other.eventBus().<Bus.ReleaseRequest>consumer(Bus.RELEASE, m -> {
      releasedThere.add(m.body().sandboxId());
      m.reply(null);
    });
    SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    SchedulerOptions so = new SchedulerOptions();
    so.ambiguousClaimWatch = Duration.ofSeconds(4);
    other.deployVerticle(new ClaimScheduler(viaHop, lagging, metrics, so)).await(10, TimeUnit.SECONDS);
    try {
      CreateSandboxInput in = new CreateSandboxInput("twice", "default", "example/sandbox:2", null, null, null, null, null, null, null, null, null);
      for (int i = 0; i < 2; i++) {
        mode = Mode.ANSWERS_LOST;
        try {
          Bus.ClaimReply r = other.eventBus().<Bus.ClaimReply>request(Bus.CLAIM, new Bus.ClaimRequest("twicekey", in, Duration.ofSeconds(5), true),
              new DeliveryOptions().setSendTimeout(30_000)).await(30, TimeUnit.SECONDS).body();
          assertThat(r.error().status()).as("attempt %d", i + 1).isEqualTo(503);
        } finally {
          mode = Mode.FORWARD;
        }
        if (i == 0) {
          Await.until("the first claim in the cache", Duration.ofSeconds(10), () -> cache.podBySandboxId("twicekey").orElse(null));
        }
      }
      // (The leader recycles the second pod as a duplicate claim within moments.)
      Await.until("the unconfirmed claims released at the end of the window", Duration.ofSeconds(20),
          () -> releasedThere.contains("twicekey") ? true : null);
      var elsewhere = metrics.find("agentbox_claim_unconfirmed_total").tag("outcome", "held_elsewhere").counter();
      assertThat(elsewhere == null ? 0 : elsewhere.count()).as("taken for another replica's claim").isZero();
    } finally {
      other.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aClaimWhoseAnswerWasLostIsLeftToItsIdleTimeoutWhenNoRetryCameHere() throws Exception {
    pool("idle");
    Bus.ClaimReply r = claimWhile(Mode.ANSWERS_LOST, "idlekey", "idle", true, Duration.ofMinutes(10));
    assertThat(r.error().status()).isEqualTo(503);
    Await.until("the watch over the unconfirmed claim ended", Duration.ofSeconds(20),
        () -> outcomes("left_to_idle_timeout") == 1 ? true : null);
    assertThat(released).as("sandboxes released by the scheduler").doesNotContain("idlekey");
    assertThat(holders("idlekey")).hasSize(1);
    assertThat(Pods.annotation(holders("idlekey").get(0), sh.navix.agentbox.api.crd.Annotations.IDLE_TIMEOUT)).isNotNull();
  }

  @Test
  void aSandboxAnotherReplicaClaimedIsLeftAloneWhenThisReplicasWriteNeverArrived() throws Exception {
    pool("other");
    Bus.ClaimReply r = claimWhile(Mode.REQUESTS_LOST, "otherkey", "other", true);
    assertThat(r.error().status()).isEqualTo(503);
    assertThat(holders("otherkey")).as("this replica's write never arrived").isEmpty();
    // The client's retry reached another replica, which claimed a pod for the same key (earlier
    // claimed-at than this replica's attempt, so it cannot pass for it; but within its startup
    // timeout, or the leader fails it as timed out and no pod holds the sandbox any more).
    Await.until("another replica's claim", Duration.ofSeconds(10), () -> {
      Pod idle = cache.pods("default", "other", SandboxPhase.IDLE).get(0);
      try {
        return cluster.client().pods().inNamespace("default").resource(PodTransitions.claim(idle, new PodTransitions.ClaimSpec("otherkey",
            Map.of(), null, null, null, Duration.ofMinutes(2), null, null, null, null, Instant.now().minusSeconds(30)))).update();
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() == 409) {
          return null; // the pod changed since the cache saw it (the simulated kubelet): again
        }
        throw e;
      }
    });

    Await.until("the watch over the unconfirmed claim ended", Duration.ofSeconds(20), () -> outcomes("held_elsewhere") == 1 ? true : null);
    assertThat(released).as("sandboxes released by the scheduler").doesNotContain("otherkey");
    assertThat(holders("otherkey")).hasSize(1);
  }
}
