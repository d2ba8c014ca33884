package sh.navix.agentbox.gateway.http;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.bus.BusConsumer;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.api.cache.PoolPodCounts;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxRuntimeSpec;
import sh.navix.agentbox.api.crd.SandboxTemplate;
import sh.navix.agentbox.api.history.HistoryPage;
import sh.navix.agentbox.api.history.HistoryQuery;
import sh.navix.agentbox.api.history.HistoryStore;
import sh.navix.agentbox.api.lifecycle.PodTransitions;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.ApiError;
import sh.navix.agentbox.api.model.CreateSandboxRequest;
import sh.navix.agentbox.api.model.DeleteSandboxResult;
import sh.navix.agentbox.api.model.ListSandboxesFilter;
import sh.navix.agentbox.api.model.PoolStatusDetail;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.api.model.SandboxReadiness;
import sh.navix.agentbox.api.model.SandboxStatus;
import tools.jackson.core.JacksonException;

/**
 * {@code /v1} sandbox, pool and template routes. Creates go to the claim scheduler and releases to
 * the lifecycle writer over the event bus; reads come from the cluster cache and the history
 * store, never from a LIST against the API server.
 */
public final class SandboxApi {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SandboxApi.class);
  /** Largest accepted request body. */
  public static final long MAX_BODY = 256 * 1024;
  static final Set<String> ALL_STATUSES = Set.of(SandboxStatus.STARTING, SandboxStatus.RUNNING, SandboxStatus.STOPPING,
      SandboxStatus.COMPLETED, SandboxStatus.FAILED, SandboxStatus.CANCELED);

  /** What the API needs to know about the process. */
  /** {@code watchNamespace}: the one namespace this gateway manages, or null for all. */
  public record Settings(String defaultNamespace, Duration defaultWait, Duration maxWait, String domain, java.util.function.IntSupplier proxyPort,
      Duration defaultStartupTimeout, String watchNamespace) {}

  /** How long a GET or DELETE waits for this replica's cache to show a sandbox the API server already has. */
  static final Duration CACHE_CATCH_UP = Duration.ofSeconds(5);
  /** How long a lookup of a sandbox claimed here waits for the cache before asking the API server. */
  static final Duration CREATED_HERE_WAIT = Duration.ofSeconds(1);

  private final Vertx vertx;
  private final ClusterCache cache;
  private final HistoryStore history;
  private final KubernetesClient client;
  private final Settings settings;
  private final SandboxViews views;
  private final WebClient probes;
  private final CacheCatchUp catchUp;
  private final BusConsumer<Bus.PodChanged> podEvents;
  /**
   * Idempotent creates of this replica by sandbox id: in progress, or answered within the last
   * minute. A retry that arrives before the informer has seen the claimed pod must get the same
   * sandbox, not a second pod.
   */
  private final Map<String, Future<Sandbox>> creating = new HashMap<>();
  static final long IDEMPOTENCY_MEMORY_MS = 60_000;
  /** waitForRunning requests by sandbox id. */
  private final Map<String, List<Promise<Sandbox>>> runningWaiters = new HashMap<>();
  /** namespace/pod → the sandbox id a waiter expects on it, so a pod event concerns at most one waiter. */
  private final Map<String, String> waitingPods = new HashMap<>();
  /** The sandbox each waitForRunning request got from its claim, by sandbox id. */
  private final Map<String, Sandbox> waitingSandboxes = new HashMap<>();

  public SandboxApi(Vertx vertx, ClusterCache cache, HistoryStore history, KubernetesClient client, Settings settings) {
    this.vertx = vertx;
    this.cache = cache;
    this.history = history;
    this.client = client;
    this.settings = settings;
    this.views = new SandboxViews(cache, settings.domain(), settings.proxyPort());
    this.probes = WebClient.create(vertx, new WebClientOptions().setConnectTimeout(2000).setIdleTimeout(5).setKeepAlive(false));
    this.catchUp = new CacheCatchUp(vertx, cache);
    this.podEvents = BusConsumer.on(vertx, Bus.POD_CHANGED, m -> onPodChanged(m.body()), m -> {});
  }

  /** Stops listening to pod events (the API verticle's stop): whatever still comes has no request left to serve. */
  public Future<Void> close() {
    return Future.join(podEvents.unregister(), catchUp.close()).mapEmpty();
  }

  /** Registers the routes on {@code router}. */
  public void routes(Router router) {
    router.route("/v1/*").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY).setHandleFileUploads(false));
    router.post("/v1/sandboxes").handler(this::create);
    router.get("/v1/sandboxes").handler(this::list);
    router.get("/v1/sandboxes/:id").handler(this::get);
    router.delete("/v1/sandboxes/:id").handler(this::delete);
    router.put("/v1/sandboxes/:id/timeout").handler(this::setTimeout);
    router.get("/v1/sandboxes/:id/is_ready").handler(this::isReady);
    router.get("/v1/sandboxpools").handler(this::listPools);
    router.get("/v1/sandboxpools/:name").handler(this::getPool);
    router.get("/v1/templates").handler(this::listTemplates);
    router.get("/v1/templates/:name").handler(this::getTemplate);
  }

  // ---------------------------------------------------------------- create

  private void create(RoutingContext ctx) {
    CreateSandboxRequest body = parse(ctx, CreateSandboxRequest.class);
    CreateRequests.Validated v = CreateRequests.validate(body, settings.defaultNamespace(), settings.defaultWait(), settings.maxWait());
    String key = ctx.request().getHeader("Idempotency-Key");
    String id;
    if (key != null) {
      CreateRequests.idempotencyKey(key);
      id = CreateRequests.idempotentSandboxId(v.input().namespace(), v.input().poolName(), key);
    } else {
      id = CreateRequests.newSandboxId();
    }
    Future<Sandbox> created;
    if (key == null) {
      // A client that goes away while its create waits for a pod must not leave a sandbox nobody
      // knows the id of: the queued request is dropped. (With an Idempotency-Key the client can
      // retry and find it, so that one is kept.)
      ctx.response().closeHandler(x -> vertx.eventBus().send(Bus.CLAIM_CANCEL, new Bus.ClaimCancel(id)));
      created = claim(id, v, false);
    } else {
      // The client has its sandbox as soon as the create resolves to it (before any wait for
      // Running): a claim of it whose outcome was unknown is not released under it.
      created = idempotent(id, v).onSuccess(s -> vertx.eventBus().send(Bus.CLAIM_ANSWERED, new Bus.ClaimAnswered(id)));
    }
    created
        .compose(s -> v.waitForRunning() && SandboxStatus.STARTING.equals(s.status()) ? awaitRunning(s, v) : Future.succeededFuture(s))
        .onSuccess(s -> {
          if (key == null && ctx.response().closed()) {
            // The claim was already being written when the client left: release what it got.
            LOG.info("sandbox {} on pod {}/{}: its client went away before the answer; releasing it", id, s.namespace(), s.podName());
            find(id).compose(f -> f.live().isEmpty() ? Future.succeededFuture()
                    : vertx.eventBus().request(Bus.RELEASE, new Bus.ReleaseRequest(s.namespace(), id, "Canceled", "ClientGone")))
                .onFailure(e -> LOG.warn("sandbox {}: release after its client went away failed: {}", id, e.toString()));
            return;
          }
          respond(ctx, 201, Map.of("sandbox", s));
        })
        .onFailure(e -> fail(ctx, e));
  }

  /** With an Idempotency-Key: the sandbox it already names (live, in flight or ended), else a new claim. */
  private Future<Sandbox> idempotent(String id, CreateRequests.Validated v) {
    Optional<Pod> live = cache.podBySandboxId(id);
    if (live.isPresent()) {
      return Future.succeededFuture(views.live(live.get()).orElseThrow());
    }
    Future<Sandbox> inFlight = creating.get(id);
    if (inFlight != null) {
      return inFlight;
    }
    Future<Sandbox> f = history.get(id).compose(h -> h.isPresent() ? Future.succeededFuture(views.historical(h.get())) : claim(id, v, true));
    creating.put(id, f);
    return f.andThen(ar -> {
      if (ar.failed()) {
        creating.remove(id); // nothing was claimed: a retry may try again
      } else {
        vertx.setTimer(IDEMPOTENCY_MEMORY_MS, t -> creating.remove(id, f));
      }
    });
  }

  private Future<Sandbox> claim(String id, CreateRequests.Validated v, boolean retryable) {
    long timeout = v.waitBudget().toMillis() + 30_000; // the scheduler answers at the budget; this is a backstop
    return vertx.eventBus().<Bus.ClaimReply>request(Bus.CLAIM, new Bus.ClaimRequest(id, v.input(), v.waitBudget(), retryable),
            new DeliveryOptions().setSendTimeout(timeout))
        .recover(e -> Future.failedFuture(ApiError.serviceUnavailable("claim scheduler unavailable: " + e.getMessage())))
        .compose(m -> m.body().error() != null ? Future.failedFuture(m.body().error()) : Future.succeededFuture(m.body().sandbox()))
        .andThen(ar -> {
          if (ar.succeeded()) {
            catchUp.created(id);
          }
        });
  }

  /**
   * Waits until the claimed sandbox runs (this replica's cache sees its pod Running), or fails
   * with the reason it did not start (422), or gives up after its startup timeout (504).
   */
  private Future<Sandbox> awaitRunning(Sandbox starting, CreateRequests.Validated v) {
    Promise<Sandbox> p = Promise.promise();
    runningWaiters.computeIfAbsent(starting.sandboxId(), k -> new ArrayList<>()).add(p);
    waitingPods.put(starting.namespace() + "/" + starting.podName(), starting.sandboxId());
    waitingSandboxes.put(starting.sandboxId(), starting);
    Duration limit = v.input().startupTimeout() != null ? v.input().startupTimeout()
        : cache.pool(starting.namespace(), starting.poolName()).flatMap(pool -> sh.navix.agentbox.api.GoDuration.parseLenient(pool.getSpec().getDefaultStartupTimeout())).orElse(null);
    if (limit == null) {
      limit = settings.defaultStartupTimeout();
    }
    long timer = vertx.setTimer(limit.toMillis() + 5_000, t -> p.tryFail(new ApiError(504,
        "sandbox " + starting.sandboxId() + " did not reach Running in time", null, Map.of("sandbox", starting), null)));
    checkRunning(starting.sandboxId());
    return p.future().andThen(ar -> {
      vertx.cancelTimer(timer);
      List<Promise<Sandbox>> l = runningWaiters.get(starting.sandboxId());
      if (l != null) {
        l.remove(p);
        if (l.isEmpty()) {
          runningWaiters.remove(starting.sandboxId());
          waitingPods.remove(starting.namespace() + "/" + starting.podName(), starting.sandboxId());
          waitingSandboxes.remove(starting.sandboxId());
        }
      }
    });
  }

  /**
   * A pod event for a sandbox someone waits for: the pod they claimed, or any pod that holds the
   * sandbox now. That is another pod when two replicas claimed the sandbox at once (the same
   * Idempotency-Key): the leader keeps it on the pod claimed first and recycles the other, maybe
   * the one this replica claimed.
   */
  private void onPodChanged(Bus.PodChanged c) {
    if (runningWaiters.isEmpty()) {
      return;
    }
    String holds = cache.pod(c.namespace(), c.podName()).map(Pods::sandboxId).orElse(null);
    if (holds != null && runningWaiters.containsKey(holds)) {
      checkRunning(holds);
    }
    String expected = waitingPods.get(c.namespace() + "/" + c.podName());
    if (expected != null && !expected.equals(holds)) {
      settle(expected); // the pod lost the sandbox (failed, deleted, recycled): its record says why
    }
  }

  private void checkRunning(String id) {
    Optional<Pod> pod = cache.podBySandboxId(id);
    if (pod.isEmpty()) {
      settle(id);
      return;
    }
    Pod p = pod.get();
    if (Pods.inPhase(p, SandboxPhase.RUNNING)) {
      complete(id, views.live(p).orElseThrow(), null);
    } else if (Pods.inPhase(p, SandboxPhase.FAILED) || Pods.inPhase(p, SandboxPhase.STOPPING)) {
      Sandbox s = views.live(p).orElseThrow();
      complete(id, null, startFailure(s));
    }
  }

  /**
   * No pod shows the sandbox: its history record says why it ended. The leader writes the record
   * into its own store, and a replica that does not lead writes it into its own as the same pod
   * event reaches it (the history follower), so here it may not be written yet, or ever (a cache
   * that missed the end). Then this replica goes by what its cache saw: when the claimed pod itself
   * is gone (deleted, evicted, its pool deleted), the sandbox did not start, for the reason the
   * leader records. A pod still in the cache without the sandbox is one whose claim the cache has
   * not shown yet: its next event is waited for.
   */
  private void settle(String id) {
    if (cache.podBySandboxId(id).isPresent()) {
      checkRunning(id); // it lives on another pod now (a duplicate claim recycled): that pod says how it goes
      return;
    }
    history.get(id).onSuccess(h -> {
      Sandbox starting = waitingSandboxes.get(id);
      if (h.isPresent()) {
        complete(id, null, startFailure(views.historical(h.get())));
      } else if (starting != null && cache.podBySandboxId(id).isEmpty() && cache.pod(starting.namespace(), starting.podName()).isEmpty()) {
        boolean poolGone = cache.pool(starting.namespace(), starting.poolName()).map(Pods::deleting).orElse(true);
        complete(id, null, startFailure(gone(starting, poolGone ? "PoolDeleted" : "PodDeleted")));
      }
    });
  }

  /** The sandbox as a replica without its record knows it ended: canceled while starting, for {@code reason}. */
  private static Sandbox gone(Sandbox s, String reason) {
    return new Sandbox(s.sandboxId(), s.namespace(), s.team(), s.user(), s.poolName(), s.podName(), s.metadata(), SandboxStatus.CANCELED,
        s.containerImages(), s.nodeName(), s.containerId(), s.cpu(), s.memory(), s.claimedAt(), s.startedAt(),
        PodTransitions.rfc3339(Instant.now()), null, s.durationSeconds(), null, null, reason, null,
        PodTransitions.deletedFromOutsideMessage(reason));
  }

  private static ApiError startFailure(Sandbox s) {
    String why = s.failureReason() != null ? s.failureReason() : s.statusDetail() != null ? s.statusDetail().getReason() : s.status();
    return new ApiError(422, "sandbox " + s.sandboxId() + " did not start: " + why, null, Map.of("sandbox", s), null);
  }

  private void complete(String id, Sandbox s, ApiError e) {
    List<Promise<Sandbox>> l = runningWaiters.get(id);
    if (l == null) {
      return;
    }
    for (Promise<Sandbox> p : List.copyOf(l)) {
      if (e == null) {
        p.tryComplete(s);
      } else {
        p.tryFail(e);
      }
    }
  }

  // ---------------------------------------------------------------- reads

  private void list(RoutingContext ctx) {
    ListSandboxesFilter f = filter(ctx);
    // Pool and namespace come from labels: filter on them before building views (endpoints, detail).
    List<Sandbox> live = (f.poolName() != null && f.namespace() != null ? cache.pods(f.namespace(), f.poolName()) : cache.pods()).stream()
        .filter(p -> Pods.sandboxId(p) != null
            && (f.namespace() == null || f.namespace().equals(Pods.namespace(p)))
            && (f.poolName() == null || f.poolName().equals(Pods.pool(p))))
        .map(views::live).flatMap(Optional::stream)
        .filter(s -> matches(s, f))
        .sorted(Comparator.comparing((Sandbox s) -> s.claimedAt() == null ? "" : s.claimedAt()).reversed())
        .toList();
    Set<String> historyStatuses = f.statuses().isEmpty() ? Set.of()
        : f.statuses().stream().filter(st -> !isLive(st)).collect(Collectors.toSet());
    boolean wantHistory = f.statuses().isEmpty() || !historyStatuses.isEmpty();
    // Live sandboxes first (they are the newest), then history, each newest first.
    int fromLive = Math.max(0, Math.min(live.size() - f.offset(), f.limit()));
    List<Sandbox> page = new ArrayList<>(live.subList(Math.min(f.offset(), live.size()), Math.min(f.offset(), live.size()) + fromLive));
    int historyOffset = Math.max(0, f.offset() - live.size());
    int historyLimit = f.limit() - page.size();
    Future<HistoryPage> hist = !wantHistory ? Future.succeededFuture(new HistoryPage(List.of(), 0))
        : history.query(new HistoryQuery(f.namespace(), f.poolName(), historyStatuses, f.team(), f.user(), historyLimit, historyOffset));
    hist.onSuccess(h -> {
          h.items().forEach(s -> page.add(views.historical(s)));
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("sandboxes", page);
          body.put("total", live.size() + h.total());
          body.put("limit", f.limit());
          body.put("offset", f.offset());
          respond(ctx, 200, body);
        })
        .onFailure(e -> fail(ctx, e));
  }

  private static boolean isLive(String status) {
    return status.equals(SandboxStatus.STARTING) || status.equals(SandboxStatus.RUNNING) || status.equals(SandboxStatus.STOPPING);
  }

  private static boolean matches(Sandbox s, ListSandboxesFilter f) {
    return (f.namespace() == null || f.namespace().equals(s.namespace()))
        && (f.poolName() == null || f.poolName().equals(s.poolName()))
        && (f.statuses().isEmpty() || f.statuses().contains(s.status()))
        && (f.team() == null || f.team().equals(s.team()))
        && (f.user() == null || f.user().equals(s.user()));
  }

  private ListSandboxesFilter filter(RoutingContext ctx) {
    String ns = query(ctx, "namespace");
    String pool = query(ctx, "poolName");
    if (ns != null) {
      CreateRequests.name("namespace", ns);
    }
    if (pool != null) {
      CreateRequests.name("poolName", pool);
    }
    Set<String> statuses = new LinkedHashSet<>();
    String status = query(ctx, "status");
    if (status != null) {
      for (String st : status.split(",")) {
        String t = st.trim();
        if (!ALL_STATUSES.contains(t)) {
          throw ApiError.badRequest("status '" + t + "' is not one of " + String.join(", ", new java.util.TreeSet<>(ALL_STATUSES)));
        }
        statuses.add(t);
      }
    }
    int limit = intParam(ctx, "limit", ListSandboxesFilter.DEFAULT_LIMIT, 1, ListSandboxesFilter.MAX_LIMIT);
    int offset = intParam(ctx, "offset", 0, 0, Integer.MAX_VALUE);
    return new ListSandboxesFilter(ns, pool, statuses, query(ctx, "team"), query(ctx, "user"), limit, offset);
  }

  private void get(RoutingContext ctx) {
    String id = sandboxId(ctx);
    lookup(id).onSuccess(s -> respond(ctx, 200, Map.of("sandbox", s))).onFailure(e -> fail(ctx, e));
  }

  /** The live sandbox, else its history record, else (the API server has no pod for it either) 404. */
  private Future<Sandbox> lookup(String id) {
    return find(id).compose(f -> f.live().flatMap(views::live).or(() -> f.ended().map(views::historical))
        .map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(ApiError.notFound("sandbox " + id + " not found"))));
  }

  /** Where a sandbox stands: the pod holding it while it lives, else its history record; neither when unknown. */
  private record Found(Optional<Pod> live, Optional<Sandbox> ended) {}

  /**
   * The one lookup by id behind GET, DELETE, PUT /timeout and is_ready: the cache (a pod holding
   * the sandbox live), then the history store, then, for a create a moment ago, the catch-up.
   */
  private Future<Found> find(String id) {
    Optional<Pod> pod = cache.podBySandboxId(id).filter(p -> sh.navix.agentbox.api.lifecycle.SandboxRecords.liveStatus(p) != null);
    if (pod.isPresent()) {
      return Future.succeededFuture(new Found(pod, Optional.empty()));
    }
    return history.get(id).compose(h -> h.isPresent() ? Future.succeededFuture(new Found(Optional.empty(), h))
        : caughtUp(id).map(p -> new Found(p, Optional.empty())));
  }

  /**
   * For a sandbox in neither this replica's cache nor its history: a create a moment ago may not
   * have reached the informer yet. Created here: its pod as soon as the cache shows it (the next
   * pod events), without asking the API server. Otherwise (or if the cache does not show it
   * within {@link #CREATED_HERE_WAIT}) the API server decides: empty when it has no pod for the
   * sandbox; else its pod once this replica's cache shows it (up to {@link #CACHE_CATCH_UP}; 503
   * after that, or when the API server cannot be reached).
   */
  private Future<Optional<Pod>> caughtUp(String id) {
    if (catchUp.createdHere(id)) {
      return catchUp.whenCached(id, CREATED_HERE_WAIT).map(v -> cache.podBySandboxId(id)).recover(e -> askApiServer(id));
    }
    return askApiServer(id);
  }

  private Future<Optional<Pod>> askApiServer(String id) {
    return existsOnApiServer(id)
        .recover(e -> Future.failedFuture(ApiError.serviceUnavailable("cannot reach the Kubernetes API: " + e.getMessage())))
        .compose(exists -> !exists ? Future.succeededFuture(Optional.<Pod>empty())
            : catchUp.whenCached(id, CACHE_CATCH_UP)
                .recover(e -> Future.failedFuture(ApiError.serviceUnavailable("sandbox " + id + " exists but this replica has not seen it yet; retry")))
                .map(v -> cache.podBySandboxId(id)));
  }

  // ---------------------------------------------------------------- writes

  private void delete(RoutingContext ctx) {
    String id = sandboxId(ctx);
    find(id).onSuccess(f -> {
      if (f.live().isPresent()) {
        release(ctx, id);
      } else if (f.ended().isPresent()) {
        // Already ended: releasing twice is not an error.
        Sandbox s = f.ended().get();
        respond(ctx, 202, new DeleteSandboxResult(s.sandboxId(), s.namespace(), s.poolName(), s.podName(), s.status()));
      } else {
        fail(ctx, ApiError.notFound("sandbox " + id + " not found"));
      }
    }).onFailure(e -> fail(ctx, e));
  }

  private Future<Boolean> existsOnApiServer(String sandboxId) {
    return vertx.executeBlocking(() -> {
      var pods = settings.watchNamespace() == null ? client.pods().inAnyNamespace() : client.pods().inNamespace(settings.watchNamespace());
      return !pods.withLabel(sh.navix.agentbox.api.crd.Labels.SANDBOX_ID, sandboxId).list().getItems().isEmpty();
    }, false);
  }

  private void release(RoutingContext ctx, String id) {
    vertx.eventBus().<Sandbox>request(Bus.RELEASE, new Bus.ReleaseRequest(null, id, null, null))
        .onSuccess(m -> {
          Sandbox s = m.body();
          respond(ctx, 202, new DeleteSandboxResult(s.sandboxId(), s.namespace(), s.poolName(), s.podName(),
              s.status() == null ? SandboxStatus.STOPPING : s.status()));
        })
        .onFailure(e -> fail(ctx, e instanceof ReplyException r && r.failureCode() == 404 ? ApiError.notFound("sandbox " + id + " not found")
            : ApiError.serviceUnavailable("release failed: " + e.getMessage())));
  }

  /** A new idle timeout for a live sandbox, counted from now (as if it had just been active). */
  private void setTimeout(RoutingContext ctx) {
    String id = sandboxId(ctx);
    sh.navix.agentbox.api.model.SetTimeoutRequest body = parse(ctx, sh.navix.agentbox.api.model.SetTimeoutRequest.class);
    if (body == null || body.timeout() == null) {
      throw ApiError.badRequest("the body must be {\"timeout\": <seconds or duration>}");
    }
    Duration timeout = CreateRequests.duration("timeout", body.timeout(), CreateRequests.MAX_IDLE_TIMEOUT);
    livePod(id).compose(found -> {
          Optional<Pod> pod = found.filter(p -> Pods.inPhase(p, SandboxPhase.RUNNING) || Pods.inPhase(p, SandboxPhase.STARTING));
          if (pod.isEmpty()) {
            return Future.failedFuture(ApiError.notFound("sandbox " + id + " is not running"));
          }
          String ns = Pods.namespace(pod.get());
          String name = Pods.name(pod.get());
          Map<String, Object> ann = new HashMap<>();
          ann.put(Annotations.IDLE_TIMEOUT, timeout == null ? null : Long.toString(timeout.toSeconds()));
          ann.put(Annotations.LAST_ACTIVE, PodTransitions.rfc3339(Instant.now()));
          String patch = Json.encode(Map.of("metadata", Map.of("annotations", ann)));
          return vertx.executeBlocking(() -> client.pods().inNamespace(ns).withName(name).patch(
                  io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE), patch), false)
              .recover(e -> Future.failedFuture(kubeError(e)));
        })
        .onSuccess(p -> ctx.response().setStatusCode(204).end())
        .onFailure(e -> fail(ctx, e));
  }

  /** The sandbox's live pod (see {@link #find}); empty when it has ended or never existed. */
  private Future<Optional<Pod>> livePod(String id) {
    return find(id).map(Found::live);
  }

  /** Per-runtime readiness: each runtime's HTTP readinessProbe when it has one, else the pod's Ready condition. */
  private void isReady(RoutingContext ctx) {
    String id = sandboxId(ctx);
    livePod(id).onSuccess(pod -> {
      if (pod.isEmpty()) {
        fail(ctx, ApiError.notFound("sandbox " + id + " not found"));
      } else {
        isReady(ctx, id, pod.get());
      }
    }).onFailure(e -> fail(ctx, e));
  }

  private void isReady(RoutingContext ctx, String id, Pod p) {
    boolean running = Pods.inPhase(p, SandboxPhase.RUNNING);
    List<SandboxRuntimeSpec> runtimes = cache.pool(Pods.namespace(p), Pods.pool(p))
        .map(pool -> pool.getSpec().getRuntimes()).orElse(null);
    Map<String, Future<SandboxReadiness.EndpointReadiness>> checks = new LinkedHashMap<>();
    for (SandboxRuntimeSpec r : runtimes == null ? List.<SandboxRuntimeSpec>of() : runtimes) {
      checks.put(r.getName(), readiness(p, r, running));
    }
    Future.join(new ArrayList<>(checks.values())).onComplete(x -> {
      Map<String, SandboxReadiness.EndpointReadiness> endpoints = new LinkedHashMap<>();
      checks.forEach((name, f) -> endpoints.put(name, f.result()));
      boolean ready = running && Pods.ready(p) && endpoints.values().stream().allMatch(SandboxReadiness.EndpointReadiness::ready);
      respond(ctx, 200, new SandboxReadiness(id, ready, endpoints));
    });
  }

  private Future<SandboxReadiness.EndpointReadiness> readiness(Pod p, SandboxRuntimeSpec r, boolean running) {
    if (!running) {
      return Future.succeededFuture(new SandboxReadiness.EndpointReadiness(false, "sandbox is not running"));
    }
    var probe = r.getReadinessProbe();
    if (probe == null || probe.getHttpGet() == null) {
      boolean ready = Pods.ready(p);
      return Future.succeededFuture(new SandboxReadiness.EndpointReadiness(ready, ready ? null : "pod is not Ready"));
    }
    var http = probe.getHttpGet();
    int port = http.getPort() != null && http.getPort().getIntVal() != null ? http.getPort().getIntVal()
        : r.getPort() == null ? 80 : r.getPort();
    String path = http.getPath() == null ? "/" : http.getPath();
    return probes.get(port, p.getStatus().getPodIP(), path).timeout(2000).send()
        .map(resp -> resp.statusCode() >= 200 && resp.statusCode() < 400
            ? new SandboxReadiness.EndpointReadiness(true, null)
            : new SandboxReadiness.EndpointReadiness(false, "readiness probe answered " + resp.statusCode()))
        .otherwise(e -> new SandboxReadiness.EndpointReadiness(false, "readiness probe failed: " + e.getMessage()));
  }

  // ---------------------------------------------------------------- pools and templates

  private void listPools(RoutingContext ctx) {
    String ns = query(ctx, "namespace");
    List<Map<String, Object>> pools = cache.pools().stream()
        .filter(p -> ns == null || ns.equals(p.getMetadata().getNamespace()))
        .sorted(Comparator.comparing((SandboxPool p) -> p.getMetadata().getNamespace()).thenComparing(p -> p.getMetadata().getName()))
        .map(this::poolView).toList();
    respond(ctx, 200, Map.of("sandboxPools", pools, "total", pools.size()));
  }

  private void getPool(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    CreateRequests.name("name", name);
    String ns = Optional.ofNullable(query(ctx, "namespace")).orElse(settings.defaultNamespace());
    SandboxPool pool = cache.pool(ns, name).orElseThrow(() -> ApiError.notFound("pool " + ns + "/" + name + " not found"));
    respond(ctx, 200, Map.of("sandboxPool", poolView(pool)));
  }

  private Map<String, Object> poolView(SandboxPool p) {
    String ns = p.getMetadata().getNamespace();
    String name = p.getMetadata().getName();
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("name", name);
    v.put("namespace", ns);
    v.put("templateName", p.getSpec().getTemplateName());
    v.put("templateVersion", Pods.annotation(p, Annotations.POOL_TEMPLATE_VERSION));
    v.put("createdAt", p.getMetadata().getCreationTimestamp());
    v.put("spec", p.getSpec());
    v.put("status", p.getStatus());
    // Live counts from the cache: fresher than the status subresource, which is throttled.
    PoolPodCounts live = cache.podCounts(ns, name);
    v.put("live", new PoolStatusDetail(live.idle(), live.running(), live.starting(), live.stopping(), live.failed(), null, null));
    v.values().removeIf(java.util.Objects::isNull);
    return v;
  }

  private void listTemplates(RoutingContext ctx) {
    List<Map<String, Object>> templates = cache.templates().stream()
        .sorted(Comparator.comparing(t -> t.getMetadata().getName()))
        .map(SandboxApi::templateView).toList();
    respond(ctx, 200, Map.of("templates", templates, "total", templates.size()));
  }

  private void getTemplate(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    SandboxTemplate t = cache.template(name).orElseThrow(() -> ApiError.notFound("template " + name + " not found"));
    respond(ctx, 200, Map.of("template", templateView(t)));
  }

  private static Map<String, Object> templateView(SandboxTemplate t) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("name", t.getMetadata().getName());
    v.put("version", t.getSpec() == null ? null : t.getSpec().getVersion());
    v.put("description", t.getSpec() == null ? null : t.getSpec().getDescription());
    v.put("docs", Pods.annotation(t, Annotations.TEMPLATE_DOCS));
    v.put("createdAt", t.getMetadata().getCreationTimestamp());
    v.put("spec", t.getSpec());
    v.values().removeIf(java.util.Objects::isNull);
    return v;
  }

  // ---------------------------------------------------------------- plumbing

  private static String sandboxId(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (id == null || !CreateRequests.SANDBOX_ID.matcher(id).matches()) {
      throw ApiError.badRequest("'" + id + "' is not a sandbox id (lowercase letters and digits)");
    }
    return id;
  }

  private static <T> T parse(RoutingContext ctx, Class<T> type) {
    String ct = ctx.request().getHeader("content-type");
    if (ct != null && !ct.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
      throw new ApiError(415, "send the body as application/json", null, null, null);
    }
    String text = ctx.body() == null ? null : ctx.body().asString();
    if (text == null || text.isBlank()) {
      throw ApiError.badRequest("the request body must be a JSON object");
    }
    try {
      return Json.decode(text, type);
    } catch (JacksonException e) {
      throw ApiError.badRequest("invalid request body: " + e.getOriginalMessage() + at(e));
    }
  }

  private static String at(JacksonException e) {
    String path = e.getPath().stream().map(r -> r.getPropertyName() != null ? r.getPropertyName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."));
    return path.isEmpty() ? "" : " (at " + path + ")";
  }

  private static String query(RoutingContext ctx, String name) {
    List<String> all = ctx.queryParam(name);
    if (all.size() > 1) {
      throw ApiError.badRequest("query parameter " + name + " given more than once");
    }
    return all.isEmpty() || all.get(0).isBlank() ? null : all.get(0);
  }

  private static int intParam(RoutingContext ctx, String name, int dflt, int min, int max) {
    String v = query(ctx, name);
    if (v == null) {
      return dflt;
    }
    try {
      int i = Integer.parseInt(v);
      if (i < min || i > max) {
        throw ApiError.badRequest(name + " must be between " + min + " and " + max);
      }
      return i;
    } catch (NumberFormatException e) {
      throw ApiError.badRequest(name + " must be a whole number");
    }
  }

  static ApiError kubeError(Throwable e) {
    if (sh.navix.agentbox.api.lifecycle.KubeErrors.gone(e)) {
      return ApiError.notFound("sandbox not found");
    }
    if (sh.navix.agentbox.api.lifecycle.KubeErrors.conflict(e)) {
      return ApiError.conflict("the sandbox changed meanwhile; retry");
    }
    return ApiError.serviceUnavailable("the Kubernetes API could not be reached: " + e.getMessage());
  }

  private static void respond(RoutingContext ctx, int status, Object body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(Json.encode(body));
  }

  static void fail(RoutingContext ctx, Throwable e) {
    ApiError err = e instanceof ApiError a ? a : ApiError.internal("internal error", e);
    if (err.status() == 409 && err.getDetail() instanceof PoolStatusDetail d && d.retryAfter() != null) {
      ctx.response().putHeader("Retry-After", Integer.toString(d.retryAfter()));
    }
    if (err.status() >= 500 && !(e instanceof ApiError)) {
      org.slf4j.LoggerFactory.getLogger(SandboxApi.class).error("unhandled error on {} {}", ctx.request().method(), ctx.request().path(), e);
    }
    ApiVerticle.error(ctx, err);
  }

  /** Methods each /v1 path answers, for 405 responses and the OpenAPI route check. */
  public static Map<String, List<HttpMethod>> routeTable() {
    Map<String, List<HttpMethod>> m = new LinkedHashMap<>();
    m.put("/v1/sandboxes", Arrays.asList(HttpMethod.POST, HttpMethod.GET));
    m.put("/v1/sandboxes/{id}", Arrays.asList(HttpMethod.GET, HttpMethod.DELETE));
    m.put("/v1/sandboxes/{id}/timeout", List.of(HttpMethod.PUT));
    m.put("/v1/sandboxes/{id}/is_ready", List.of(HttpMethod.GET));
    m.put("/v1/sandboxpools", List.of(HttpMethod.GET));
    m.put("/v1/sandboxpools/{name}", List.of(HttpMethod.GET));
    m.put("/v1/templates", List.of(HttpMethod.GET));
    m.put("/v1/templates/{name}", List.of(HttpMethod.GET));
    return m;
  }
}
