package sh.navix.agentbox.gateway.proxy;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.internal.VertxInternal;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sh.navix.agentbox.extproc.activity.ActivityTracker;
import sh.navix.agentbox.extproc.routing.SandboxRouter;

/**
 * The built-in sandbox proxy (when Envoy is absent): HTTP/1.1 and WebSocket, the same routing as
 * ext_proc, bodies streamed with backpressure (never buffered), hop-by-hop headers dropped,
 * {@code x-forwarded-*} set, activity recorded. One listener served by every Vert.x event loop
 * ({@link ProxyServer}); this verticle gives it the gateway's start and graceful stop.
 */
public final class ProxyVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyVerticle.class);

  private final String host;
  private final int port;
  private final Duration shutdownGrace;
  private final SandboxRouter router;
  private final ActivityTracker activity;
  private final MeterRegistry registry;
  private ProxyServer server;

  public ProxyVerticle(String host, int port, Duration shutdownGrace, SandboxRouter router, ActivityTracker activity, MeterRegistry registry) {
    this.host = host;
    this.port = port;
    this.shutdownGrace = shutdownGrace;
    this.router = router;
    this.activity = activity;
    this.registry = registry;
  }

  public int actualPort() {
    return server == null ? 0 : server.listenPort();
  }

  @Override
  public Future<?> start() {
    server = new ProxyServer((VertxInternal) vertx, router, activity, registry);
    return server.bind(host, port).onSuccess(p -> LOG.debug("sandbox proxy listening on {}:{}", host, p));
  }

  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture() : server.shutdown(shutdownGrace);
  }
}
