package sh.navix.agentbox.gateway.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.VertxInternal;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import sh.navix.agentbox.extproc.activity.ActivityTracker;
import sh.navix.agentbox.extproc.routing.SandboxRouter;

/**
 * The built-in sandbox proxy's server: HTTP/1.1 and WebSocket on Vert.x's event loops. Each
 * client connection is served on one event loop, and so are the pod connections it uses: they
 * come from a keep-alive pool owned by that event loop (no locks, no thread hops). A request is
 * framed by {@link RequestFramer} (strictly: the client is not trusted) and goes on as the client's
 * header lines behind a request line of the proxy's and before its {@code x-forwarded-*}; a
 * response is framed by {@link ResponseFramer} and goes back as the bytes the pod sent, rewritten
 * only where the client's hop needs it. Body bytes are handed on without
 * copying; reads stop on the side whose peer cannot keep up.
 */
public final class ProxyServer {
  /** Idle keep-alive connections kept per pod address and event loop. */
  static final int MAX_IDLE_PER_TARGET = 256;

  final SandboxRouter router;
  final ActivityTracker activity;
  private volatile int listenPort;
  private final VertxInternal vertx;
  private final Map<EventLoop, UpstreamPool> pools = new ConcurrentHashMap<>();
  private final Set<ProxyConnection> open = ConcurrentHashMap.newKeySet();
  private final long idleTimeoutNanos;
  private final long podKeepAliveNanos;
  private volatile boolean draining;
  /** Completed when, draining, the last client connection has closed. */
  private final Promise<Void> drained = Promise.promise();
  private Channel serverChannel;
  private io.netty.util.concurrent.ScheduledFuture<?> sweeper;

  final Counter[] responses = new Counter[6];
  final Timer requestTime;
  final Counter upstreamConnects;
  final Counter upstreamRetries;

  ProxyServer(VertxInternal vertx, SandboxRouter router, ActivityTracker activity, MeterRegistry registry, Duration idleTimeout,
      Duration podKeepAlive) {
    this.vertx = vertx;
    this.idleTimeoutNanos = idleTimeout.toNanos();
    this.podKeepAliveNanos = podKeepAlive.toNanos();
    this.router = router;
    this.activity = activity;
    for (int c = 1; c <= 5; c++) {
      responses[c] = Counter.builder("agentbox_proxy_responses_total").tag("code", c + "xx")
          .description("Responses the built-in proxy sent, by status class (routing errors and 502s included)").register(registry);
    }
    requestTime = Timer.builder("agentbox_proxy_request_seconds")
        .description("Built-in proxy: request head received to response end sent").publishPercentiles(0.5, 0.99).register(registry);
    upstreamConnects = Counter.builder("agentbox_proxy_upstream_connects_total")
        .description("Connections the built-in proxy opened to pods (the rest reused a kept-alive one)").register(registry);
    upstreamRetries = Counter.builder("agentbox_proxy_upstream_retries_total")
        .description("Idempotent requests resent on a fresh connection after a kept-alive one was found closed").register(registry);
    Gauge.builder("agentbox_proxy_open_connections", open, Set::size)
        .description("Client connections open on the built-in proxy").register(registry);
  }

  /** Binds the listener; the future gives the port actually bound. */
  Future<Integer> bind(String host, int port) {
    ServerBootstrap b = new ServerBootstrap()
        .group(vertx.acceptorEventLoopGroup(), vertx.nettyEventLoopGroup())
        .channelFactory(vertx.transport().serverChannelFactory(false))
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ProxyConnection c = new ProxyConnection(ProxyServer.this, pool(ch.eventLoop()));
            ch.pipeline().addLast("codec", new RequestFramer()).addLast("proxy", c);
          }
        });
    Promise<Integer> bound = Promise.promise();
    b.bind(new InetSocketAddress(host, port)).addListener((ChannelFuture f) -> {
      if (f.isSuccess()) {
        serverChannel = f.channel();
        listenPort = ((InetSocketAddress) f.channel().localAddress()).getPort();
        long shortest = idleTimeoutNanos > 0 ? Math.min(idleTimeoutNanos, podKeepAliveNanos) : podKeepAliveNanos;
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(100), Math.min(TimeUnit.SECONDS.toNanos(15), shortest / 2));
        sweeper = f.channel().eventLoop().scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
        bound.complete(listenPort);
      } else {
        bound.fail(f.cause());
      }
    });
    return bound.future();
  }

  /** The port bound (0 before). */
  int listenPort() {
    return listenPort;
  }

  boolean draining() {
    return draining;
  }

  void opened(ProxyConnection c) {
    open.add(c);
  }

  void closed(ProxyConnection c) {
    open.remove(c);
    if (draining && open.isEmpty()) {
      drained.tryComplete();
    }
  }

  /** Closes client connections idle past the idle timeout and pod connections idle past the keep-alive. */
  private void sweep() {
    long now = System.nanoTime();
    if (idleTimeoutNanos > 0) {
      open.forEach(c -> c.closeIfIdleSince(now - idleTimeoutNanos));
    }
    pools.values().forEach(p -> p.expire(now - podKeepAliveNanos));
  }

  /**
   * Graceful stop: no new connections; idle ones close now, busy ones after their response
   * (answered with {@code connection: close}); WebSocket tunnels and whatever is still open when
   * the grace runs out are closed then. Pooled pod connections close last.
   */
  Future<Void> shutdown(Duration grace) {
    draining = true;
    if (sweeper != null) {
      sweeper.cancel(false);
    }
    EventLoop loop = vertx.nettyEventLoopGroup().next();
    (serverChannel == null ? loop.newSucceededFuture(null) : serverChannel.close()).addListener(f -> {
      open.forEach(ProxyConnection::closeWhenIdle);
      if (open.isEmpty()) {
        drained.tryComplete();
      }
      var deadline = loop.schedule(() -> open.forEach(c -> c.channel().close()), grace.toNanos(), TimeUnit.NANOSECONDS);
      drained.future().onComplete(x -> deadline.cancel(false));
    });
    // Whatever is left at the deadline is closed; the pools go once every client connection has.
    return drained.future().andThen(x -> pools.values().forEach(UpstreamPool::closeAll));
  }

  private UpstreamPool pool(EventLoop loop) {
    return pools.computeIfAbsent(loop, UpstreamPool::new);
  }

  /** Pod connections of one event loop: kept-alive idle ones by address, and how to open more. */
  final class UpstreamPool {
    private final EventLoop loop;
    private final Map<String, ArrayDeque<UpstreamHandler>> idle = new HashMap<>();
    private final Bootstrap bootstrap;

    UpstreamPool(EventLoop loop) {
      this.loop = loop;
      this.bootstrap = new Bootstrap().group(loop).channelFactory(vertx.transport().channelFactory(false))
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.SO_KEEPALIVE, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 2000)
          .handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast("codec", new ResponseFramer())
                  .addLast("upstream", new UpstreamHandler(UpstreamPool.this));
            }
          });
    }

    /** A kept-alive connection to the address, or null. Called on this pool's event loop. */
    UpstreamHandler poll(String key) {
      ArrayDeque<UpstreamHandler> q = idle.get(key);
      if (q == null) {
        return null;
      }
      long cutoff = System.nanoTime() - podKeepAliveNanos;
      UpstreamHandler h;
      while ((h = q.pollLast()) != null) {
        if (h.channel().isActive() && h.idleSince() - cutoff > 0) {
          return h;
        }
        h.channel().close(); // idle so long the pod may be closing it: not worth the race
      }
      return null;
    }

    /** Keeps a connection whose exchange ended cleanly, or closes it when the pool is full or draining. */
    void offer(String key, UpstreamHandler h) {
      ArrayDeque<UpstreamHandler> q = idle.computeIfAbsent(key, k -> new ArrayDeque<>());
      if (draining || q.size() >= MAX_IDLE_PER_TARGET) {
        h.channel().close();
      } else {
        q.addLast(h);
      }
    }

    void forget(String key, UpstreamHandler h) {
      ArrayDeque<UpstreamHandler> q = idle.get(key);
      if (q != null) {
        q.remove(h);
        if (q.isEmpty()) {
          idle.remove(key);
        }
      }
    }

    ChannelFuture connect(String host, int port) {
      upstreamConnects.increment();
      return bootstrap.connect(new InetSocketAddress(host, port));
    }

    /** Closes the connections idle since before {@code cutoff} (System.nanoTime). */
    void expire(long cutoff) {
      loop.execute(() -> idle.values().removeIf(q -> {
        while (!q.isEmpty() && q.peekFirst().idleSince() - cutoff <= 0) {
          q.pollFirst().channel().close();
        }
        return q.isEmpty();
      }));
    }

    void closeAll() {
      loop.execute(() -> {
        idle.values().forEach(q -> q.forEach(h -> h.channel().close()));
        idle.clear();
      });
    }
  }
}
