package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.bus.Bus;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.Sandbox;
import sh.navix.agentbox.api.model.SandboxStatus;

/**
 * The leader's writes with a bound on how many are in flight ({@code --max-reconcile-writes}):
 * here its pod updates pass through a relay that holds each one for a while before the API server
 * sees it, so that a burst of them would all be in flight at once if nothing bounded them.
 */
class ReconcilerWriteLimitTest extends ReconcilerTestBase {
  static final int LIMIT = 2;
  /** How long the relay holds each pod update before passing it on. */
  static volatile long holdMs = 300;

  @TempDir static Path home;
  static Process gateway;
  static HttpServer relay;
  static HttpClient upstream;
  static final AtomicInteger inFlight = new AtomicInteger();
  static final AtomicInteger highest = new AtomicInteger();

  @BeforeAll
  static void startGateway() throws Exception {
    template("held", "example/idle:1", "example/sandbox:1");
    URI api = URI.create(cluster.masterUrl());
    upstream = clusterVertx.createHttpClient();
    relay = fakeApiServer(req -> req.body().onSuccess(body -> {
      int n = inFlight.incrementAndGet();
      highest.accumulateAndGet(n, Math::max);
      clusterVertx.setTimer(holdMs, t -> forward(req, body, api).onComplete(ar -> inFlight.decrementAndGet()));
    }));
    io.fabric8.kubernetes.client.http.Interceptor holdPodUpdates = new io.fabric8.kubernetes.client.http.Interceptor() {
      @Override
      public void before(io.fabric8.kubernetes.client.http.BasicBuilder builder, io.fabric8.kubernetes.client.http.HttpRequest request,
          RequestTags tags) {
        if ("PUT".equals(request.method()) && request.uri().getPath().contains("/pods/")) {
          builder.uri(URI.create("http://127.0.0.1:" + relay.actualPort() + request.uri().getRawPath()));
        }
      }
    };
    gateway = leading(new Process("gw-limit", home.resolve("gw"), http -> http.addOrReplaceInterceptor("hold-pod-updates", holdPodUpdates),
        options -> options.maxWritesInFlight = LIMIT));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
    relay.close().await(10, TimeUnit.SECONDS);
    upstream.close().await(10, TimeUnit.SECONDS);
  }

  /** Passes the request on to the API server and its answer back. */
  static Future<Void> forward(HttpServerRequest req, Buffer body, URI api) {
    RequestOptions o = new RequestOptions().setMethod(req.method()).setHost(api.getHost()).setPort(api.getPort()).setURI(req.uri());
    req.headers().forEach((k, v) -> {
      if (!k.equalsIgnoreCase("host") && !k.equalsIgnoreCase("content-length")) {
        o.addHeader(k, v);
      }
    });
    return upstream.request(o).compose(r -> r.send(body)).compose(resp -> resp.body().map(b -> {
      req.response().setStatusCode(resp.statusCode());
      resp.headers().forEach((k, v) -> {
        if (!k.equalsIgnoreCase("content-length") && !k.equalsIgnoreCase("transfer-encoding")) {
          req.response().putHeader(k, v);
        }
      });
      req.response().end(b);
      return null;
    }));
  }

  /**
   * Six sandboxes claimed at once on the idle image: the leader marks each running as soon as it
   * sees its claim, six writes at once. No more than the limit are in flight at any moment, the
   * limit is used, and every sandbox gets to running.
   */
  @Test
  void aBurstOfReconcilesKeepsAtMostTheLimitInFlightAndEndsAllTheSame() {
    pool("burst", "held", 6, null);
    List<Pod> idle = awaitIdleReady("burst", 6);
    await("no pod update in flight", Duration.ofSeconds(10), () -> inFlight.get() == 0 ? true : null);
    highest.set(0);

    for (int i = 0; i < idle.size(); i++) {
      claim(idle.get(i), "sbxburst" + i, null, Duration.ofMinutes(2), null);
    }
    awaitPods("burst", "six sandboxes running", ps -> ps.stream().filter(p -> Pods.inPhase(p, SandboxPhase.RUNNING)).count() == 6);

    assertThat(highest.get()).as("pod updates in flight at once, at most").isEqualTo(LIMIT);
    await("nothing left waiting", Duration.ofSeconds(10),
        () -> gateway.registry.get("agentbox_kube_writes_waiting").gauge().value() == 0 ? true : null);
  }

  /**
   * A replica that stops leading in the middle of a burst sends none of the writes still waiting
   * their turn (they were its decisions as leader); the leader after it makes them afresh. Here the
   * same process leads again once the Lease is free, and every sandbox gets to running.
   */
  @Test
  void writesWaitingTheirTurnAreDroppedWhenLeadershipEnds() {
    pool("handover", "held", 6, null);
    List<Pod> idle = awaitIdleReady("handover", 6);
    await("no pod update in flight", Duration.ofSeconds(10), () -> inFlight.get() == 0 ? true : null);
    holdMs = 1500;
    try {
      for (int i = 0; i < idle.size(); i++) {
        claim(idle.get(i), "sbxhandover" + i, null, Duration.ofMinutes(2), null);
      }
      await("writes waiting their turn", Duration.ofSeconds(5),
          () -> gateway.registry.get("agentbox_kube_writes_waiting").gauge().value() >= 3 ? true : null);
      standingBy(gateway);
      await("the writes waiting dropped", Duration.ofSeconds(5),
          () -> gateway.registry.get("agentbox_kube_writes_waiting").gauge().value() == 0 ? true : null);
      await("the updates in flight answered", Duration.ofSeconds(10), () -> inFlight.get() == 0 ? true : null);
      List<Pod> after = pods("handover");
      assertThat(after.stream().filter(p -> Pods.inPhase(p, SandboxPhase.RUNNING)).count())
          .as("only the writes in flight when leadership ended were sent").isLessThanOrEqualTo(LIMIT + LIMIT);
      assertThat(after.stream().filter(p -> Pods.inPhase(p, SandboxPhase.STARTING)).count()).isGreaterThanOrEqualTo(2);
    } finally {
      holdMs = 300;
    }
    admin.leases().inNamespace("default").withName("agentbox-gateway-leader").delete();
    leading(gateway);
    awaitPods("handover", "six sandboxes running under the next leadership",
        ps -> ps.stream().filter(p -> Pods.inPhase(p, SandboxPhase.RUNNING)).count() == 6);
  }

  /**
   * A release a request waits on (a DELETE) goes out at once, even while the reconcilers' writes
   * are all taken and more wait their turn; a release by a reconciler (an idle timeout) waits.
   */
  @Test
  void aReleaseARequestWaitsOnDoesNotQueueBehindTheReconcilers() throws Exception {
    pool("bypass", "held", 2, null);
    List<Pod> idle = awaitIdleReady("bypass", 2);
    claim(idle.get(0), "sbxbypass0", null, Duration.ofMinutes(2), null);
    claim(idle.get(1), "sbxbypass1", null, Duration.ofMinutes(2), null);
    List<Pod> running = awaitPods("bypass", "both running", ps -> ps.stream().filter(p -> Pods.inPhase(p, SandboxPhase.RUNNING)).count() == 2);
    await("both running in the cache", Duration.ofSeconds(10), () -> running.stream()
        .allMatch(p -> gateway.cache.pod("default", Pods.name(p)).filter(c -> Pods.inPhase(c, SandboxPhase.RUNNING)).isPresent()) ? true : null);
    Pod byTimeout = gateway.cache.podBySandboxId("sbxbypass0").orElseThrow();

    Vertx vertx = Vertx.vertx();
    try {
      Bus.registerCodecs(vertx.eventBus());
      var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
      PodWriter writer = new PodWriter(vertx, gateway.client, registry, 1);
      Lifecycle lifecycle = new Lifecycle(gateway.cache, writer, gateway.history, Clock.systemUTC(), registry);
      vertx.deployVerticle(new ReleaseVerticle(lifecycle)).await(10, TimeUnit.SECONDS);
      // The only slot is taken by a write that does not answer until the test says so.
      Promise<Void> stuck = Promise.promise();
      Future<Void> occupying = writer.limiter().submit(stuck::future);
      Future<Pod> timedOut = lifecycle.release(byTimeout, SandboxStopReason.Released, "IdleTimeout", "no activity");
      await("the reconciler's release waiting its turn", Duration.ofSeconds(5),
          () -> registry.get("agentbox_kube_writes_waiting").gauge().value() == 1 ? true : null);

      Sandbox answer = (Sandbox) vertx.eventBus().request(Bus.RELEASE, gateway.release("sbxbypass1")).await(10, TimeUnit.SECONDS).body();
      assertThat(answer.status()).isEqualTo(SandboxStatus.STOPPING);
      assertThat(timedOut.isComplete()).as("the reconciler's release, still waiting").isFalse();
      assertThat(Pods.phase(pod(Pods.name(byTimeout)))).contains(SandboxPhase.RUNNING);

      stuck.complete();
      occupying.await(5, TimeUnit.SECONDS);
      assertThat(Pods.phase(timedOut.await(10, TimeUnit.SECONDS))).contains(SandboxPhase.STOPPING);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
