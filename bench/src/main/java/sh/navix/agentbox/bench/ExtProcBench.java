package sh.navix.agentbox.bench;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * ext_proc round trips against a running gateway (the shipped jar in dev mode, started by
 * bench/extproc.sh): as Envoy does, one gRPC stream per HTTP request carrying one
 * request_headers message for a running sandbox, from 1 and 32 concurrent streams. Reports
 * round trips per second seen by the client, the gateway's own handler-time quantiles and, given
 * the gateway's pid, the gateway process's CPU time per round trip (user + system, from /proc),
 * which turns into round trips per core of the gateway's own.
 */
final class ExtProcBench {
  private ExtProcBench() {}

  static final ServiceMethod<ProcessingResponse, ProcessingRequest> PROCESS = ServiceMethod.client(
      ServiceName.create("envoy.service.ext_proc.v3.ExternalProcessor"), "Process",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ProcessingResponse.newBuilder()));

  static void run(String[] args) throws Exception {
    Map<String, String> a = ReconcileBench.flags(args);
    int grpcPort = Integer.parseInt(a.getOrDefault("--grpc-port", "19002"));
    int apiPort = Integer.parseInt(a.getOrDefault("--api-port", "18080"));
    int seconds = Integer.parseInt(a.getOrDefault("--seconds", "10"));
    String sandbox = a.get("--sandbox");
    long gatewayPid = Long.parseLong(a.getOrDefault("--gateway-pid", "0"));
    // Long enough for the gateway's JIT to finish with the gRPC path: with 3 s, on a slow machine,
    // half the gateway's CPU in the measured window went to the compiler.
    int warmup = Integer.parseInt(a.getOrDefault("--warmup", "20"));
    ProcessingRequest headers = ProcessingRequest.newBuilder().setRequestHeaders(HttpHeaders.newBuilder().setEndOfStream(true)
        .setHeaders(HeaderMap.newBuilder()
            .addHeaders(h(":authority", "8080-" + sandbox + ".sandbox.localhost"))
            .addHeaders(h(":path", "/api/v1/run?x=1"))
            .addHeaders(h(":method", "GET"))
            .addHeaders(h("user-agent", "bench"))
            .addHeaders(h("accept", "*/*")))).build();
    Vertx vertx = Vertx.vertx();
    GrpcClient client = GrpcClient.client(vertx);
    SocketAddress server = SocketAddress.inetSocketAddress(grpcPort, "127.0.0.1");
    System.out.println();
    System.out.println("| concurrent streams | round trips/s (client) | gateway handler p50 µs | gateway handler p99 µs "
        + "| gateway CPU µs/round trip | round trips per gateway core-second |");
    System.out.println("|---|---|---|---|---|---|");
    loop(vertx, client, server, headers, 32, warmup);
    for (int streams : new int[] {1, 32}) {
      long cpuBefore = ProcessCpu.of(gatewayPid).totalNanos();
      long t0 = System.nanoTime();
      double rate = loop(vertx, client, server, headers, streams, seconds);
      double elapsed = (System.nanoTime() - t0) / 1e9;
      long cpu = ProcessCpu.of(gatewayPid).totalNanos() - cpuBefore;
      Map<String, Double> q = quantiles(apiPort);
      double perTrip = gatewayPid > 0 ? cpu / 1e3 / (rate * elapsed) : Double.NaN;
      System.out.printf(Locale.ROOT, "| %d | %,.0f | %.0f | %.0f | %.1f | %,.0f |%n", streams, rate, q.getOrDefault("0.5", Double.NaN) * 1e6,
          q.getOrDefault("0.99", Double.NaN) * 1e6, perTrip, 1e6 / perTrip);
    }
    System.out.printf(Locale.ROOT, "%nmachine: %d cores (client and gateway share them); JVM %s; %s%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), Instant.now().toString().substring(0, 10));
    client.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  static HeaderValue h(String k, String v) {
    return HeaderValue.newBuilder().setKey(k).setRawValue(ByteString.copyFromUtf8(v)).build();
  }

  /** {@code streams} workers, each opening a stream per request, for {@code seconds}; returns round trips per second. */
  static double loop(Vertx vertx, GrpcClient client, SocketAddress server, ProcessingRequest msg, int streams, int seconds) throws Exception {
    AtomicLong done = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    Promise<Void> all = Promise.promise();
    AtomicLong running = new AtomicLong(streams);
    for (int i = 0; i < streams; i++) {
      vertx.runOnContext(v -> next(client, server, msg, done, end, running, all));
    }
    long t0 = System.nanoTime();
    all.future().await(seconds + 30L, TimeUnit.SECONDS);
    return done.get() / ((System.nanoTime() - t0) / 1e9);
  }

  static void next(GrpcClient client, SocketAddress server, ProcessingRequest msg, AtomicLong done, long end, AtomicLong running,
      Promise<Void> all) {
    if (System.nanoTime() > end) {
      if (running.decrementAndGet() == 0) {
        all.tryComplete();
      }
      return;
    }
    client.request(server, PROCESS)
        .compose(req -> req.send(msg))
        .compose(resp -> resp.last())
        .onComplete(ar -> {
          if (ar.succeeded() && ar.result().hasRequestHeaders()) {
            done.incrementAndGet();
          }
          next(client, server, msg, done, end, running, all);
        });
  }

  /** The gateway's agentbox_extproc_request_headers_seconds quantiles from /metrics. */
  static Map<String, Double> quantiles(int apiPort) throws Exception {
    String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    Map<String, Double> q = new java.util.HashMap<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("agentbox_extproc_request_headers_seconds{") && line.contains("quantile=\"")) {
        String quantile = line.substring(line.indexOf("quantile=\"") + 10, line.indexOf('"', line.indexOf("quantile=\"") + 10));
        q.put(quantile, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
      }
    }
    return q;
  }
}
