package sh.navix.agentbox.gateway;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.vertx5.Vertx5HttpClientFactory;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.gateway.dev.DevMode;
import sh.navix.agentbox.api.history.HistoryStore;
import sh.navix.agentbox.extproc.activity.ActivityTracker;
import sh.navix.agentbox.extproc.routing.SandboxRouter;
import sh.navix.agentbox.gateway.grpc.GrpcVerticle;
import sh.navix.agentbox.gateway.http.ApiVerticle;
import sh.navix.agentbox.gateway.proxy.ProxyVerticle;
import sh.navix.agentbox.gateway.http.SandboxApi;
import sh.navix.agentbox.scheduler.ClaimScheduler;
import sh.navix.agentbox.scheduler.SchedulerOptions;
import sh.navix.agentbox.reconciler.ReconcilerOptions;
import sh.navix.agentbox.reconciler.Reconcilers;
import sh.navix.agentbox.reconciler.history.H2HistoryStore;

/**
 * One gateway process: a Vert.x instance with Prometheus metrics, a Kubernetes client, the cluster
 * cache and the listeners. In dev mode it first starts the embedded cluster and points the client
 * at it, exactly as it would point at a real API server.
 */
public final class Gateway {
  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
  private static final Duration RESYNC = Duration.ofMinutes(5);

  private final GatewayOptions options;
  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private DevMode dev;
  private KubernetesClient client;
  private ClusterCache cache;
  private ApiVerticle api;
  private String apiDeployment;
  private HistoryStore history;
  private volatile Reconcilers reconcilers;
  private volatile boolean stopping;
  private volatile String schedulerDeployment;
  private volatile String proxyDeployment;
  private volatile String grpcDeployment;
  private volatile ProxyVerticle proxy;
  private volatile GrpcVerticle grpc;
  private volatile ActivityTracker activity;
  private volatile SandboxRouter router;

  private Gateway(GatewayOptions options) {
    this.options = options;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    MicrometerMetricsOptions metrics =
        new MicrometerMetricsOptions()
            .setEnabled(true)
            .setJvmMetricsEnabled(true)
            // The built-in proxy runs on Netty directly and keeps its own agentbox_proxy_* meters;
            // Vert.x's HTTP client meters now time the Kubernetes API calls.
            .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true));
    this.vertx =
        Vertx.builder()
            .with(new VertxOptions().setMetricsOptions(metrics))
            .withMetrics(new MicrometerMetricsFactory(registry))
            .build();
    Bus.registerCodecs(vertx.eventBus());
  }

  /** Starts a gateway; the future completes once the listeners are bound (readiness follows later). */
  public static Future<Gateway> start(GatewayOptions options) {
    Gateway g = new Gateway(options);
    Promise<Gateway> started = Promise.promise();
    g.doStart().onComplete(ar -> {
      if (ar.succeeded()) {
        started.complete(g);
      } else {
        LOG.error("start failed: {}", ar.cause().toString(), ar.cause());
        // Fail the caller first: stop() closes Vert.x, after which no more callbacks run.
        started.fail(ar.cause());
        g.stop();
      }
    });
    return started.future();
  }

  private Future<Void> doStart() {
    Future<Config> config;
    if (options.dev) {
      config = DevMode.start(vertx, options).compose(d -> {
        dev = d;
        return vertx.executeBlocking(d::clientConfig); // reads the kubeconfig file
      });
    } else {
      // Reads --kubeconfig, else $KUBECONFIG / ~/.kube/config or the service account: blocking file I/O.
      config = vertx.executeBlocking(() -> options.kubeconfig != null
          ? Config.fromKubeconfig(java.nio.file.Files.readString(options.kubeconfig))
          : Config.autoConfigure(null));
    }
    return config
        .compose(cfg -> {
          cfg.setWatchReconnectInterval((int) options.watchReconnectDelay.toMillis());
          // On this process's Vert.x: fabric8's factory would otherwise start a second Vert.x of its
          // own, whose event loops take every answer from the API server and hand it to ours; on
          // ours, the API calls and watches also show in Vert.x's HTTP client metrics. Nothing may
          // wait for the client on an event loop (it would wait for its own I/O): blocking calls
          // go through executeBlocking, as they always had to.
          client = new KubernetesClientBuilder().withHttpClientFactory(new Vertx5HttpClientFactory(vertx)).withConfig(cfg).build();
          LOG.info("Kubernetes API at {}", cfg.getMasterUrl());
          return H2HistoryStore.open(vertx, options.historyFile(), options.historyRetention);
        })
        .compose(h -> {
          history = h;
          cache = ClusterCache.create(vertx, client, options.namespace, RESYNC);
          SandboxApi.Settings settings = new SandboxApi.Settings(options.namespace == null ? "default" : options.namespace,
              options.defaultClaimWait.compareTo(options.maxClaimWait) > 0 ? options.maxClaimWait : options.defaultClaimWait,
              options.maxClaimWait, options.sandboxDomain, this::proxyPort, ClaimScheduler.DEFAULT_STARTUP_TIMEOUT, options.namespace);
          api = new ApiVerticle(options.host, options.apiPort, options.shutdownGrace, cache::synced, registry,
              (v, router) -> {
                SandboxApi sandboxes = new SandboxApi(v, cache, history, client, settings);
                sandboxes.routes(router);
                return sandboxes::close;
              });
          return vertx.deployVerticle(api);
        })
        .compose(id -> {
          apiDeployment = id;
          // The data-plane listeners bind now, so a port already in use fails the start; until
          // the cache has synced they answer 503.
          activity = new ActivityTracker(vertx, client, cache, registry, Duration.ofSeconds(1));
          router = new SandboxRouter(cache, options.sandboxDomain);
          // One proxy listener, served by every event loop (ProxyServer binds them all).
          proxy = new ProxyVerticle(new ProxyVerticle.Settings(options.host, options.proxyPort, options.shutdownGrace,
              options.proxyIdleTimeout, options.proxyPodKeepAlive), router, activity, registry);
          return vertx.deployVerticle(proxy);
        })
        .compose(pid -> {
          proxyDeployment = pid;
          LOG.info("sandbox proxy listening on {}:{}", options.host, proxyPort());
          return deployListener(options.grpcPort,
              port -> new GrpcVerticle(options.host, port, options.shutdownGrace, router, activity, cache, registry, cache::synced),
              v -> grpc = v);
        })
        .compose(gid -> {
          grpcDeployment = gid;
          LOG.info("Envoy ext_proc, access log and gRPC health listening on {}:{}", options.host, grpcPort());
          // Readiness follows the cache; /healthz answers meanwhile.
          cache.start()
              .onSuccess(v -> LOG.info("ready: cluster cache synced {} ms after JVM start",
                  System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime()))
              .compose(v -> {
                activity.start();
                return vertx.deployVerticle(new ClaimScheduler(client, cache, registry, new SchedulerOptions()));
              })
              .compose(sid -> {
                schedulerDeployment = sid;
                return Reconcilers.start(vertx, client, cache, history, registry, reconcilerOptions());
              })
              .onSuccess(r -> {
                reconcilers = r;
                if (stopping) {
                  r.stop(); // stop() ran while the lifecycle side was still starting
                }
              })
              .onFailure(e -> LOG.error("lifecycle side failed to start: {}", e.toString(), e));
          return Future.succeededFuture();
        });
  }

  /**
   * A listener verticle: one instance per core sharing the port; on port 0 (tests, tools) a single
   * instance, kept so the port it got can be read back.
   */
  private <V extends io.vertx.core.Deployable> Future<String> deployListener(int port, java.util.function.IntFunction<V> make,
      java.util.function.Consumer<V> keep) {
    if (port == 0) {
      V single = make.apply(0);
      keep.accept(single);
      return vertx.deployVerticle(single);
    }
    return vertx.deployVerticle(() -> make.apply(port),
        new io.vertx.core.DeploymentOptions().setInstances(Math.max(1, Runtime.getRuntime().availableProcessors())));
  }

  private ReconcilerOptions reconcilerOptions() {
    ReconcilerOptions o = new ReconcilerOptions();
    o.leaseNamespace = options.leaseNamespace;
    o.identity = options.identity != null ? options.identity
        : (System.getenv().getOrDefault("HOSTNAME", "agentbox") + "-" + java.util.UUID.randomUUID().toString().substring(0, 6));
    o.scaleDownProtection = options.scaleDownProtection;
    o.maxWritesInFlight = options.maxReconcileWrites;
    return o;
  }

  /** The lifecycle side, once started (null before the cache synced). */
  public Reconcilers reconcilers() {
    return reconcilers;
  }

  /** The sandbox proxy port actually bound. */
  public int proxyPort() {
    return proxy != null ? proxy.actualPort() : options.proxyPort;
  }

  /** The ext_proc gRPC port actually bound. */
  public int grpcPort() {
    return grpc != null ? grpc.actualPort() : options.grpcPort;
  }

  /** The routing brain shared by the proxy and ext_proc (null before the cache synced). */
  public SandboxRouter router() {
    return router;
  }

  public ActivityTracker activity() {
    return activity;
  }

  public HistoryStore history() {
    return history;
  }

  public Vertx vertx() {
    return vertx;
  }

  public KubernetesClient client() {
    return client;
  }

  public ClusterCache cache() {
    return cache;
  }

  /** The dev environment, or null outside dev mode. */
  public DevMode dev() {
    return dev;
  }

  /** The process's meters (what /metrics serves). */
  public io.micrometer.core.instrument.MeterRegistry registry() {
    return registry;
  }

  /** The management API port actually bound. */
  public int apiPort() {
    return api.actualPort();
  }

  /**
   * Graceful stop: report not ready, stop accepting and drain in-flight requests (up to the
   * shutdown grace), then close the cache, the client, the dev cluster and Vert.x.
   */
  public Future<Void> stop() {
    LOG.info("shutting down (grace {})", options.shutdownGrace);
    stopping = true;
    if (api != null) {
      api.beginShutdown();
    }
    // Queued creates get a clean 503 at once instead of waiting out their budget; requests in
    // flight (waitForRunning included) drain while the reconcilers still run; then the Lease is
    // handed back so a standby takes over.
    Future<Void> scheduler = schedulerDeployment == null ? Future.succeededFuture() : vertx.undeploy(schedulerDeployment);
    Future<Void> http = scheduler.eventually(() -> Future.join(
            apiDeployment == null ? Future.succeededFuture() : vertx.undeploy(apiDeployment),
            proxyDeployment == null ? Future.succeededFuture() : vertx.undeploy(proxyDeployment),
            grpcDeployment == null ? Future.succeededFuture() : vertx.undeploy(grpcDeployment)).<Void>mapEmpty()
        .onComplete(x -> {
          if (activity != null) {
            activity.stop();
          }
        }));
    Future<Void> undeploy = http.eventually(() -> reconcilers == null ? Future.succeededFuture() : reconcilers.stop());
    Future<Void> drained = undeploy
        .eventually(() -> history == null ? Future.succeededFuture() : history.close())
        .eventually(() -> cache == null ? Future.succeededFuture() : cache.stop())
        .eventually(() -> {
          if (client != null) {
            client.close();
          }
          return Future.succeededFuture();
        })
        .eventually(() -> dev == null ? Future.succeededFuture() : dev.stop());
    // Listeners of futures bound to this Vert.x would be lost once it is closed: bridge the end.
    java.util.concurrent.CompletableFuture<Void> stopped = new java.util.concurrent.CompletableFuture<>();
    drained.onComplete(ar -> VertxClose.close(vertx).onComplete(x -> {
      LOG.info("stopped");
      stopped.complete(null);
    }));
    return Future.fromCompletionStage(stopped);
  }
}
