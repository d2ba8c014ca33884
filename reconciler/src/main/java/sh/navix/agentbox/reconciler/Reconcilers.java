package sh.navix.agentbox.reconciler;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.history.HistoryStore;

/**
 * The lifecycle side of one gateway process. The release handler and the history follower (which
 * records the sandboxes the leader ends into this replica's store too) run on every replica; the
 * reconcilers (phase, pool, timeouts) and the post-start hooks of the sandboxes they mark running
 * run only in the process holding the Lease. Another process
 * takes over within the lease duration when the leader dies, at once when it shuts down cleanly
 * (the Lease is released on stop).
 */
public final class Reconcilers {
  private static final Logger LOG = LoggerFactory.getLogger(Reconcilers.class);

  private final Vertx vertx;
  private final Context context;
  private final KubernetesClient client;
  private final Lifecycle lifecycle;
  private final ReconcilerOptions options;
  private final MeterRegistry registry;
  private final List<String> leaderDeployments = new ArrayList<>();
  private String releaseDeployment;
  private String followerDeployment;
  private CompletableFuture<?> election;
  private volatile boolean leader;
  /** Counts leadership terms (on this instance's context); a deployment belongs to the term that started it. */
  private int leaderTerm;
  private volatile boolean stopped;

  private Reconcilers(Vertx vertx, KubernetesClient client, Lifecycle lifecycle, ReconcilerOptions options, MeterRegistry registry) {
    this.vertx = vertx;
    this.registry = registry;
    this.context = vertx.getOrCreateContext();
    this.client = client;
    this.lifecycle = lifecycle;
    this.options = options;
  }

  /** Starts the release handler and joins the leader election; call once the cache has synced. */
  public static Future<Reconcilers> start(Vertx vertx, KubernetesClient client, ClusterCache cache, HistoryStore history,
      MeterRegistry registry, ReconcilerOptions options) {
    if (options.identity == null) {
      options.identity = "agentbox-" + UUID.randomUUID().toString().substring(0, 8);
    }
    Lifecycle lifecycle = new Lifecycle(cache, new PodWriter(vertx, client, registry, options.maxWritesInFlight), history, Clock.systemUTC(), registry);
    Reconcilers r = new Reconcilers(vertx, client, lifecycle, options, registry);
    Gauge.builder("agentbox_leader", r, x -> x.leader ? 1 : 0).description("1 while this process runs the reconcilers").register(registry);
    return vertx.deployVerticle(new ReleaseVerticle(lifecycle))
        .compose(id -> {
          r.releaseDeployment = id;
          return vertx.deployVerticle(new HistoryFollower(lifecycle, r::isLeader));
        })
        .map(id -> {
          r.followerDeployment = id;
          r.elect();
          return r;
        });
  }

  public boolean isLeader() {
    return leader;
  }

  public String identity() {
    return options.identity;
  }

  private void elect() {
    var config = new LeaderElectionConfigBuilder()
        .withName(options.leaseName)
        .withLock(new LeaseLock(options.leaseNamespace, options.leaseName, options.identity))
        .withLeaseDuration(options.leaseDuration)
        .withRenewDeadline(options.renewDeadline)
        .withRetryPeriod(options.retryPeriod)
        .withReleaseOnCancel(true)
        .withLeaderCallbacks(new LeaderCallbacks(
            () -> context.runOnContext(v -> startLeading()),
            () -> context.runOnContext(v -> stopLeading()),
            newLeader -> LOG.info("leader is now {}", newLeader)))
        .build();
    election = client.leaderElector().withConfig(config).build().start();
    LOG.info("joined leader election {}/{} as {}", options.leaseNamespace, options.leaseName, options.identity);
    // fabric8's elector ends for good once leadership is lost (a renewal past the deadline, an API
    // outage, another holder): join again, so this replica stands by and leads when it can,
    // instead of leaving the cluster without a leader until somebody restarts it.
    election.whenComplete((v, e) -> context.runOnContext(x -> {
      if (!stopped) {
        LOG.warn("{} left the leader election ({}); joining again", options.identity, e == null ? "leadership lost" : e.toString());
        vertx.setTimer(options.retryPeriod.toMillis(), t -> {
          if (!stopped) {
            elect();
          }
        });
      }
    }));
  }

  private void startLeading() {
    if (stopped || leader) {
      return;
    }
    leader = true;
    LOG.info("{} is the leader: starting the reconcilers", options.identity);
    int term = ++leaderTerm;
    // The hooks listen before the phase reconciler can mark a first sandbox running.
    deploy(new PostStartHooks(lifecycle, client, registry, options.hookTimeout), term).onComplete(x -> {
      if (leader && term == leaderTerm) {
        List.of(new PhaseReconciler(lifecycle, options.resync), new PoolReconciler(lifecycle, options),
            new TimeoutReconciler(lifecycle, options)).forEach(v -> deploy(v, term));
      }
    });
  }

  /**
   * Deploys a leader verticle for leadership term {@code term}; one whose deployment completes
   * after that term ended (leadership lost meanwhile, maybe regained) is undeployed at once, so a
   * quick flap never leaves two of them running.
   */
  private Future<String> deploy(io.vertx.core.Deployable v, int term) {
    return vertx.deployVerticle(v).onSuccess(id -> {
      if (leader && term == leaderTerm) {
        leaderDeployments.add(id);
      } else {
        vertx.undeploy(id);
      }
    }).onFailure(e -> LOG.error("reconciler {} failed to start: {}", v.getClass().getSimpleName(), e.toString()));
  }

  private Future<Void> stopLeading() {
    if (!leader) {
      return Future.succeededFuture();
    }
    leader = false;
    List<Future<Void>> undeploys = leaderDeployments.stream().map(vertx::undeploy).toList();
    leaderDeployments.clear();
    // Writes still waiting their turn were decided while leading: the next leader decides afresh.
    int dropped = lifecycle.writer().limiter().dropWaiting("not sent: " + options.identity + " stopped leading");
    LOG.info("{} stopped leading: reconcilers stopped{}", options.identity, dropped == 0 ? "" : ", " + dropped + " writes waiting their turn dropped");
    return Future.join(undeploys).mapEmpty();
  }

  /** Stops the reconcilers and the release handler, and releases the Lease if held. */
  public Future<Void> stop() {
    stopped = true;
    return Future.<Void>future(p -> context.runOnContext(v -> stopLeading().onComplete(p)))
        // releaseOnCancel: cancelling hands the Lease back (a fast failover), with a blocking write
        // on the canceller's thread: a worker's, never an event loop's (whose I/O it may wait for).
        .eventually(() -> election == null ? Future.succeededFuture() : vertx.executeBlocking(() -> election.cancel(true), false))
        .eventually(() -> releaseDeployment == null ? Future.succeededFuture() : vertx.undeploy(releaseDeployment))
        .eventually(() -> followerDeployment == null ? Future.succeededFuture() : vertx.undeploy(followerDeployment));
  }
}
