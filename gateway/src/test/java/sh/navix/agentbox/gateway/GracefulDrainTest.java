package sh.navix.agentbox.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.Await;

/**
 * Graceful shutdown with a request in flight: a create waiting for its sandbox to run (2 s image
 * pull) when the stop begins still gets its answer; the listener refuses new connections after.
 * The same for a request through the built-in proxy.
 */
class GracefulDrainTest {
  @TempDir Path home;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  /** Dev mode with a 20 s shutdown grace, once its demo pool has three warm pods. */
  Gateway startWarm(String pullDelay) throws Exception {
    GatewayOptions o = GatewayOptions.parse(List.of("dev", "--api-port", "0", "--dev-api-port", "0", "--proxy-port", "0", "--grpc-port", "0", "--home", home.toString(),
        "--dev-pull-delay", pullDelay, "--shutdown-grace", "20s"), Map.of());
    Gateway gateway = Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Await.until("demo pool warm", Duration.ofSeconds(30), () -> gateway.dev().cluster().client().pods().inNamespace("default")
        .withLabel(Labels.SANDBOX_POOL, "demo").list().getItems().stream().filter(Pods::claimable).count() == 3 ? true : null);
    return gateway;
  }

  @Test
  void inFlightRequestsFinishBeforeTheListenerCloses() throws Exception {
    Gateway gateway = startWarm("2s");
    var admin = gateway.dev().cluster().client();
    String base = "http://127.0.0.1:" + gateway.apiPort();

    CompletableFuture<HttpResponse<String>> inFlight = HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"poolName\":\"demo\",\"image\":\"agentbox/sandbox:dev\",\"waitForRunning\":true}")).build(),
        HttpResponse.BodyHandlers.ofString());
    Await.until("the create claimed a pod", Duration.ofSeconds(10), () -> admin.pods().inNamespace("default")
        .withLabel(Labels.SANDBOX_POOL, "demo").list().getItems().stream().anyMatch(p -> Pods.inPhase(p, SandboxPhase.STARTING)) ? true : null);

    CompletableFuture<Void> stopped = gateway.stop().toCompletionStage().toCompletableFuture();
    HttpResponse<String> r = inFlight.get(30, TimeUnit.SECONDS);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    assertThat(new JsonObject(r.body()).getJsonObject("sandbox").getString("status")).isEqualTo("Running");
    stopped.get(60, TimeUnit.SECONDS);
    assertThatThrownBy(() -> HTTP.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(), HttpResponse.BodyHandlers.ofString()))
        .hasCauseInstanceOf(ConnectException.class);
  }

  /**
   * The built-in proxy drains too: a request whose body is still arriving when the stop begins is
   * forwarded to the end and answered (with {@code connection: close}), and new connections are refused.
   */
  @Test
  void aProxiedRequestInFlightFinishesBeforeTheProxyCloses() throws Exception {
    Gateway gateway = startWarm("100ms");
    HttpResponse<String> created = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"poolName\":\"demo\",\"waitForRunning\":true}")).build(), HttpResponse.BodyHandlers.ofString());
    String id = new JsonObject(created.body()).getJsonObject("sandbox").getString("sandboxId");
    int proxyPort = gateway.proxyPort();
    var connects = gateway.registry().find("agentbox_proxy_upstream_connects_total").counter();
    double before = connects.count();

    try (java.net.Socket s = new java.net.Socket("127.0.0.1", proxyPort)) {
      s.setSoTimeout(20_000);
      var out = s.getOutputStream();
      out.write(("PUT /sandboxes/" + id + "/8080/state/drain HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nhello")
          .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      out.flush();
      Await.until("the proxy opened its pod connection for the request", Duration.ofSeconds(10), () -> connects.count() > before ? true : null);

      CompletableFuture<Void> stopped = gateway.stop().toCompletionStage().toCompletableFuture();
      Await.until("the proxy refuses new connections", Duration.ofSeconds(10), () -> {
        try (java.net.Socket probe = new java.net.Socket("127.0.0.1", proxyPort)) {
          return null;
        } catch (ConnectException refused) {
          return true;
        } catch (java.io.IOException other) {
          return null;
        }
      });
      out.write("world".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      out.flush();
      String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
      assertThat(answer).startsWith("HTTP/1.1 204").containsIgnoringCase("connection: close");
      stopped.get(60, TimeUnit.SECONDS);
    }
  }
}
