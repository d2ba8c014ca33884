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

  /**
   * Where it listens and its timeouts: {@code idleTimeout} closes client connections with no
   * request in progress (zero: never); {@code podKeepAlive} is the longest a pod connection is
   * kept idle for reuse.
   */
  public record Settings(String host, int port, Duration shutdownGrace, Duration idleTimeout, Duration podKeepAlive) {}

  private final Settings settings;
  private final SandboxRouter router;
  private final ActivityTracker activity;
  private final MeterRegistry registry;
  private ProxyServer server;

  public ProxyVerticle(Settings settings, SandboxRouter router, ActivityTracker activity, MeterRegistry registry) {
    this.settings = settings;
    this.router = router;
    this.activity = activity;
    this.registry = registry;
  }

  public int actualPort() {
    return server == null ? 0 : server.listenPort();
  }

  @Override
  public Future<?> start() {
    server = new ProxyServer((VertxInternal) vertx, router, activity, registry, settings.idleTimeout(), settings.podKeepAlive());
    return server.bind(settings.host(), settings.port()).onSuccess(p -> LOG.debug("sandbox proxy listening on {}:{}", settings.host(), p));
  }

  @Override
  public Future<?> stop() {
    return server == null ? Future.succeededFuture() : server.shutdown(settings.shutdownGrace());
  }
}
