package sh.navix.agentbox.gateway.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.api.Json;
import sh.navix.agentbox.api.model.ApiError;

/**
 * The management HTTP listener: {@code /v1} API, health and readiness probes, Prometheus metrics
 * and the OpenAPI document. Thin: it wires handlers to routes; on undeploy it stops accepting and
 * drains in-flight requests for up to the shutdown grace.
 */
public final class ApiVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ApiVerticle.class);

  private final String host;
  private final int port;
  private final Duration shutdownGrace;
  private final BooleanSupplier ready;
  private final PrometheusMeterRegistry registry;
  private final java.util.function.BiFunction<io.vertx.core.Vertx, Router, java.util.function.Supplier<Future<?>>> routes;
  /** What the routes need done when the verticle stops (they stop listening to the event bus). */
  private java.util.function.Supplier<Future<?>> closeRoutes = Future::succeededFuture;
  private HttpServer server;
  private volatile boolean stopping;

  public ApiVerticle(String host, int port, Duration shutdownGrace, BooleanSupplier ready, PrometheusMeterRegistry registry) {
    this(host, port, shutdownGrace, ready, registry, (v, r) -> Future::succeededFuture);
  }

  /**
   * {@code routes} adds the {@code /v1} routes on the verticle's own Vert.x context, and says what
   * to close once the listener has drained.
   */
  public ApiVerticle(String host, int port, Duration shutdownGrace, BooleanSupplier ready, PrometheusMeterRegistry registry,
      java.util.function.BiFunction<io.vertx.core.Vertx, Router, java.util.function.Supplier<Future<?>>> routes) {
    this.routes = routes;
    this.host = host;
    this.port = port;
    this.shutdownGrace = shutdownGrace;
    this.ready = ready;
    this.registry = registry;
  }

  /** The port actually bound (useful when configured as 0). */
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    Router router = router();
    server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port));
    return server.requestHandler(router).listen()
        .onSuccess(s -> LOG.info("management API listening on {}:{}", host, s.actualPort()));
  }

  /** Marks the process not ready, so load balancers stop sending before the listener closes. */
  public void beginShutdown() {
    stopping = true;
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return (server == null ? Future.succeededFuture() : server.shutdown(shutdownGrace)).eventually(() -> closeRoutes.get());
  }

  Router router() {
    Router router = Router.router(vertx);
    Buffer openapi = Buffer.buffer(resource("/openapi.json"));
    router.get("/healthz").handler(ctx -> json(ctx, 200, "{\"status\":\"ok\"}"));
    router.get("/readyz").handler(this::readyz);
    router.get("/metrics").handler(PrometheusScrapingHandler.create(registry));
    router.get("/openapi.json").handler(ctx -> ctx.response().putHeader("content-type", "application/json").end(openapi));
    closeRoutes = routes.apply(vertx, router);
    router.errorHandler(400, ctx -> error(ctx, ctx.failure() instanceof ApiError e ? e : ApiError.badRequest("bad request")));
    router.errorHandler(413, ctx -> error(ctx, ApiError.badRequest("request body too large")));
    router.errorHandler(404, ctx -> error(ctx, ApiError.notFound("no route for " + ctx.request().method() + " " + ctx.request().path())));
    router.errorHandler(405, ctx -> error(ctx, new ApiError(405, "method " + ctx.request().method() + " not allowed on " + ctx.request().path(), null, null, null)));
    router.errorHandler(500, ctx -> {
      Throwable f = ctx.failure();
      if (f instanceof ApiError e) {
        error(ctx, e);
      } else {
        LOG.error("unhandled error on {} {}", ctx.request().method(), ctx.request().path(), f);
        error(ctx, ApiError.internal("internal error", f));
      }
    });
    return router;
  }

  private void readyz(RoutingContext ctx) {
    if (stopping) {
      error(ctx, ApiError.serviceUnavailable("shutting down"));
    } else if (!ready.getAsBoolean()) {
      error(ctx, ApiError.serviceUnavailable("cluster cache not synced yet"));
    } else {
      json(ctx, 200, "{\"status\":\"ready\"}");
    }
  }

  /** Writes {@code e} as the JSON error body with its status. */
  public static void error(RoutingContext ctx, ApiError e) {
    if (ctx.response().ended()) {
      return;
    }
    json(ctx, e.status(), Json.encode(e.body()));
  }

  private static void json(RoutingContext ctx, int status, String body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body);
  }

  private static byte[] resource(String name) {
    try (InputStream in = ApiVerticle.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
