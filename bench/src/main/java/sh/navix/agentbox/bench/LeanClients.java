package sh.navix.agentbox.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * HTTP clients that cost the machine little: {@code c} keep-alive connections driven from one
 * event loop, each sending its next request when its last was answered (a closed loop, as the
 * 64 client threads of {@link ClaimBench#run(String, int, int, String)} do). On these two shared cores the JDK's
 * {@code HttpClient}, one thread per client, spent about as much CPU per create as the gateway
 * itself (400-500 µs, measured on 2026-12-06), which the gateway's clients, elsewhere in
 * production, do not take from it.
 */
final class LeanClients implements AutoCloseable {
  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
  /** At most this many connections: the highest concurrency the bench uses. */
  static final int MAX_CONNECTIONS = 64;
  /** A request not answered within this long fails (and counts as failed) rather than stall its loop. */
  static final long REQUEST_TIMEOUT_MILLIS = 30_000;
  private final String host;
  private final int port;
  // One client for every row, so a row reuses the connections its rehearsal opened.
  private final HttpClient http;
  private volatile String slowest = "none";

  LeanClients(String base) {
    URI u = URI.create(base);
    host = u.getHost();
    port = u.getPort();
    http = vertx.createHttpClient(new HttpClientOptions().setTcpNoDelay(true), new PoolOptions().setHttp1MaxSize(MAX_CONNECTIONS));
  }

  /** {@code n} POSTs of {@code body} to {@code path} from {@code c} connections; non-201 answers and failed requests count as failed. */
  ClaimBench.Result post(String path, String body, int n, int c) throws Exception {
    return send(HttpMethod.POST, i -> path, body, 201, n, c, null);
  }

  /**
   * The same, and the sandbox ids of the sandboxes created added to {@code ids} (read from the
   * answers once all are in, so that reading them costs the measured requests nothing).
   */
  ClaimBench.Result create(String body, int n, int c, java.util.List<String> ids) throws Exception {
    Buffer[] answers = new Buffer[n];
    ClaimBench.Result r = send(HttpMethod.POST, i -> "/v1/sandboxes", body, 201, n, c, answers);
    for (Buffer b : answers) {
      if (b != null) {
        ids.add(new io.vertx.core.json.JsonObject(b).getJsonObject("sandbox").getString("sandboxId"));
      }
    }
    return r;
  }

  /** DELETEs of these sandboxes from {@code c} connections; the number not answered 202. */
  int release(java.util.List<String> ids, int c) throws Exception {
    return send(HttpMethod.DELETE, i -> "/v1/sandboxes/" + ids.get(i), null, 202, ids.size(), c, null).failed();
  }

  /**
   * {@code n} requests, the {@code i}th to {@code path.apply(i)}, from {@code c} connections;
   * answers other than {@code expected} and failed requests count as failed. The bodies of the
   * expected answers go to {@code answers} when it is given.
   */
  private ClaimBench.Result send(HttpMethod method, java.util.function.IntFunction<String> path, String body, int expected, int n, int c,
      Buffer[] answers) throws Exception {
    Buffer payload = body == null ? null : Buffer.buffer(body);
    return exchange(method, path, payload == null ? null : i -> payload, expected, n, c, answers == null ? null : (b, i) -> answers[i] = b);
  }

  /** The pods of {@code namespace} as JSON, by name in name order: what {@link #casPuts} starts from. */
  static java.util.SortedMap<String, Buffer> podBodies(io.fabric8.kubernetes.client.KubernetesClient admin, String namespace) {
    var json = admin.getKubernetesSerialization();
    java.util.SortedMap<String, Buffer> objects = new java.util.TreeMap<>();
    for (io.fabric8.kubernetes.api.model.Pod p : admin.pods().inNamespace(namespace).list().getItems()) {
      objects.put(p.getMetadata().getName(), Buffer.buffer(json.asJson(p)));
    }
    return objects;
  }

  /** What comes right before the ten-digit value of annotation {@code key} in a pod's JSON: the {@code counter} of {@link #casPuts}. */
  static String counterOf(String key) {
    return "\"" + key + "\":\"";
  }

  /**
   * Compare-and-swap PUTs of whole objects straight to an API server (this client made for its
   * address): {@code n} of them from {@code c} connections, the {@code i}th of the object named
   * {@code names.get((from + i) % names.size())} under {@code collection} (so no object has two
   * writes in flight while {@code n} is at most the number of names). Each write sends the object
   * as the server last answered it, which carries the resourceVersion that answer gave, with the
   * ten-digit value after {@code counter} (an annotation's, say) replaced by {@code from + i}, so
   * that every write changes its object; the answer becomes the object's next body. {@code
   * objects} holds each object's JSON to start from, and is updated. A write that is not answered
   * 200 counts as failed (a lost race, say).
   */
  ClaimBench.Result casPuts(String collection, List<String> names, java.util.Map<String, Buffer> objects, String counter, int from, int n, int c)
      throws Exception {
    java.util.function.IntFunction<String> name = i -> names.get((from + i) % names.size());
    return exchange(HttpMethod.PUT, i -> collection + "/" + name.apply(i), i -> {
      Buffer current = objects.get(name.apply(i));
      String json = current.toString(java.nio.charset.StandardCharsets.UTF_8);
      int at = json.indexOf(counter);
      if (at < 0) {
        throw new IllegalStateException(name.apply(i) + " has no " + counter);
      }
      at += counter.length();
      return Buffer.buffer(json.substring(0, at) + String.format(java.util.Locale.ROOT, "%010d", from + i) + json.substring(at + 10));
    }, 200, n, c, (answer, i) -> objects.put(name.apply(i), answer));
  }

  /**
   * {@code n} requests, the {@code i}th to {@code path.apply(i)} with body {@code payload.apply(i)}
   * (none when {@code payload} is null), from {@code c} connections; answers other than {@code
   * expected} and failed requests count as failed. The bodies of the expected answers go to {@code
   * answered} when it is given.
   */
  private ClaimBench.Result exchange(HttpMethod method, java.util.function.IntFunction<String> path, java.util.function.IntFunction<Buffer> payload,
      int expected, int n, int c, java.util.function.ObjIntConsumer<Buffer> answered) throws Exception {
    if (c > MAX_CONNECTIONS) {
      throw new IllegalArgumentException("at most " + MAX_CONNECTIONS + " connections");
    }
    double[] millis = new double[n];
    long[] starts = new long[n];
    AtomicInteger next = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    Promise<Void> all = Promise.promise();
    AtomicInteger running = new AtomicInteger(c);
    long t0 = System.nanoTime();
    long wall0 = System.currentTimeMillis();
    vertx.runOnContext(v -> {
      for (int k = 0; k < c; k++) {
        loop(http, i -> {
          RequestOptions request = new RequestOptions().setMethod(method).setHost(host).setPort(port).setURI(path.apply(i))
              .setIdleTimeout(REQUEST_TIMEOUT_MILLIS);
          return payload == null ? request : request.putHeader("content-type", "application/json");
        }, payload, expected, answered, next, n, millis, starts, failed, () -> {
          if (running.decrementAndGet() == 0) {
            all.complete();
          }
        });
      }
    });
    all.future().await(10, TimeUnit.MINUTES);
    double seconds = (System.nanoTime() - t0) / 1e9;
    double[] sorted = millis.clone();
    Arrays.sort(sorted);
    ClaimBench.Result result = new ClaimBench.Result(n - failed.get(), failed.get(), sorted, n / seconds);
    slowest = slowWindows(starts, millis, result.pct(99), t0, wall0);
    return result;
  }

  private static void loop(HttpClient http, java.util.function.IntFunction<RequestOptions> requests, java.util.function.IntFunction<Buffer> payload,
      int expected, java.util.function.ObjIntConsumer<Buffer> answered, AtomicInteger next, int n, double[] millis, long[] starts,
      AtomicInteger failed, Runnable finished) {
    int i = next.getAndIncrement();
    if (i >= n) {
      finished.run();
      return;
    }
    Buffer body = payload == null ? null : payload.apply(i);
    long s = System.nanoTime();
    starts[i] = s;
    RequestOptions request = requests.apply(i);
    http.request(request)
        // The body is asked for in the send's own callback: a step later, a body that came in the
        // same read as the head can be missed (eclipse-vertx/vert.x#5904).
        .compose(req -> (body == null ? req.send() : req.send(body)).compose(resp -> resp.body().map(b -> {
          if (resp.statusCode() != expected) {
            ClaimBench.noteFailure(request.getMethod() + " " + resp.statusCode() + " " + b.toString().substring(0, Math.min(120, b.length())));
            return false;
          }
          if (answered != null) {
            answered.accept(b, i);
          }
          return true;
        })))
        .recover(e -> {
          ClaimBench.noteFailure(request.getMethod() + " failed: " + e);
          return Future.succeededFuture(false);
        })
        .onComplete(ar -> {
          millis[i] = (System.nanoTime() - s) / 1e6;
          if (!ar.result()) {
            failed.incrementAndGet();
          }
          loop(http, requests, payload, expected, answered, next, n, millis, starts, failed, finished);
        });
  }

  /** Where the last batch's slowest requests were: see {@link #slowWindows}. */
  String slowest() {
    return slowest;
  }

  /** Windows shown at most by {@link #slowWindows}. */
  static final int SLOW_WINDOWS = 4;

  /**
   * When the requests at or over the batch's {@code p99} were in flight, as wall-clock windows (UTC,
   * overlapping requests merged; the longest windows first): one stall of the machine shows as one
   * window holding many requests, to be matched against GC logs or a profile of the same minute.
   */
  static String slowWindows(long[] starts, double[] millis, double p99, long t0, long wall0) {
    if (millis.length == 0) {
      return "none";
    }
    Integer[] slow = java.util.stream.IntStream.range(0, millis.length).filter(i -> millis[i] >= p99).boxed()
        .sorted(java.util.Comparator.comparingLong(i -> starts[i])).toArray(Integer[]::new);
    List<long[]> windows = new ArrayList<>(); // from, to (ns), requests, longest (µs)
    for (int i : slow) {
      long from = starts[i];
      long to = from + (long) (millis[i] * 1e6);
      long[] w = windows.isEmpty() ? null : windows.get(windows.size() - 1);
      if (w != null && from <= w[1]) {
        w[1] = Math.max(w[1], to);
        w[2]++;
        w[3] = Math.max(w[3], (long) (millis[i] * 1e3));
      } else {
        windows.add(new long[] {from, to, 1, (long) (millis[i] * 1e3)});
      }
    }
    var clock = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(java.time.ZoneOffset.UTC);
    return windows.stream().sorted((a, b) -> Long.compare(b[1] - b[0], a[1] - a[0])).limit(SLOW_WINDOWS)
        .map(w -> String.format(java.util.Locale.ROOT, "%s-%s (%d requests, longest %.1f ms)",
            clock.format(java.time.Instant.ofEpochMilli(wall0 + (w[0] - t0) / 1_000_000)),
            clock.format(java.time.Instant.ofEpochMilli(wall0 + (w[1] - t0) / 1_000_000)), w[2], w[3] / 1e3))
        .collect(java.util.stream.Collectors.joining(", ")) + (windows.size() > SLOW_WINDOWS ? ", and " + (windows.size() - SLOW_WINDOWS) + " more" : "");
  }

  @Override
  public void close() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
  }
}
