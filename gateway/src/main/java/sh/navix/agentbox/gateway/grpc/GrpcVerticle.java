package sh.navix.agentbox.gateway.grpc;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.server.GrpcServer;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import sh.navix.agentbox.api.cache.ClusterCache;
import sh.navix.agentbox.extproc.activity.ActivityTracker;
import sh.navix.agentbox.extproc.envoy.AccessLogReceiver;
import sh.navix.agentbox.extproc.envoy.ExtProcService;
import sh.navix.agentbox.extproc.envoy.GrpcHealth;
import sh.navix.agentbox.extproc.routing.SandboxRouter;

/**
 * The gRPC listener Envoy talks to (HTTP/2 cleartext): ext_proc, the access-log receiver and the
 * gRPC health service. One instance per event loop; they share the port.
 */
public final class GrpcVerticle extends VerticleBase {
  private final String host;
  private final int port;
  private final Duration shutdownGrace;
  private final SandboxRouter router;
  private final ActivityTracker activity;
  private final ClusterCache cache;
  private final MeterRegistry registry;
  private final BooleanSupplier ready;
  private HttpServer server;

  public GrpcVerticle(String host, int port, Duration shutdownGrace, SandboxRouter router, ActivityTracker activity, ClusterCache cache,
      MeterRegistry registry, BooleanSupplier ready) {
    this.host = host;
    this.port = port;
    this.shutdownGrace = shutdownGrace;
    this.router = router;
    this.activity = activity;
    this.cache = cache;
    this.registry = registry;
    this.ready = ready;
  }

  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    GrpcServer grpc = GrpcServer.server(vertx);
    new ExtProcService(router, activity, registry).register(grpc);
    new AccessLogReceiver(cache, activity, registry).register(grpc);
    GrpcHealth.register(grpc, ready);
    server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port).setTcpNoDelay(true));
    return server.requestHandler(grpc).listen();
  }

  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture() : server.shutdown(shutdownGrace);
  }
}
