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
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * HTTP clients that cost the machine little: {@code c} keep-alive connections driven from one
 * event loop, each sending its next request when its last was answered (a closed loop, as the
 * 64 client threads of {@link ClaimBench#run} do). On these two shared cores the JDK's
 * {@code HttpClient}, one thread per client, spent about as much CPU per create as the gateway
 * itself (400-500 µs, measured on 2026-12-06), which the gateway's clients, elsewhere in
 * production, do not take from it.
 */
final class LeanClients implements AutoCloseable {
  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
  private final String host;
  private final int port;

  LeanClients(String base) {
    URI u = URI.create(base);
    host = u.getHost();
    port = u.getPort();
  }

  /** {@code n} POSTs of {@code body} to {@code path} from {@code c} connections; non-201 answers and failed requests count as failed. */
  ClaimBench.Result post(String path, String body, int n, int c) throws Exception {
    HttpClient http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(c));
    try {
      Buffer payload = Buffer.buffer(body);
      RequestOptions request = new RequestOptions().setMethod(HttpMethod.POST).setHost(host).setPort(port).setURI(path)
          .putHeader("content-type", "application/json");
      double[] millis = new double[n];
      AtomicInteger next = new AtomicInteger();
      AtomicInteger failed = new AtomicInteger();
      Promise<Void> all = Promise.promise();
      AtomicInteger running = new AtomicInteger(c);
      long t0 = System.nanoTime();
      vertx.runOnContext(v -> {
        for (int k = 0; k < c; k++) {
          loop(http, request, payload, next, n, millis, failed, () -> {
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
      return new ClaimBench.Result(n - failed.get(), failed.get(), sorted, n / seconds);
    } finally {
      http.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static void loop(HttpClient http, RequestOptions request, Buffer payload, AtomicInteger next, int n, double[] millis,
      AtomicInteger failed, Runnable finished) {
    int i = next.getAndIncrement();
    if (i >= n) {
      finished.run();
      return;
    }
    long s = System.nanoTime();
    http.request(request)
        .compose(req -> req.send(payload))
        .compose(resp -> resp.body().map(b -> {
          if (resp.statusCode() != 201) {
            ClaimBench.noteFailure("POST " + resp.statusCode() + " " + b.toString().substring(0, Math.min(120, b.length())));
            return false;
          }
          return true;
        }))
        .recover(e -> {
          ClaimBench.noteFailure("POST failed: " + e);
          return Future.succeededFuture(false);
        })
        .onComplete(ar -> {
          millis[i] = (System.nanoTime() - s) / 1e6;
          if (!ar.result()) {
            failed.incrementAndGet();
          }
          loop(http, request, payload, next, n, millis, failed, finished);
        });
  }

  @Override
  public void close() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
  }
}
