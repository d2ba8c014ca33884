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
 */
class GracefulDrainTest {
  @TempDir Path home;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  void inFlightRequestsFinishBeforeTheListenerCloses() throws Exception {
    GatewayOptions o = GatewayOptions.parse(List.of("dev", "--api-port", "0", "--dev-api-port", "0", "--proxy-port", "0", "--grpc-port", "0", "--home", home.toString(),
        "--dev-pull-delay", "2s", "--shutdown-grace", "20s"), Map.of());
    Gateway gateway = Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    var admin = gateway.dev().cluster().client();
    Await.until("demo pool warm", Duration.ofSeconds(30), () -> admin.pods().inNamespace("default")
        .withLabel(Labels.SANDBOX_POOL, "demo").list().getItems().stream().filter(Pods::claimable).count() == 3 ? true : null);
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
}
