package sh.navix.agentbox.gateway.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import sh.navix.agentbox.gateway.Gateway;
import sh.navix.agentbox.gateway.GatewayOptions;

/** For tests: gateway processes (in this JVM) against a cluster outside them, and requests to their API. */
final class GatewayProcesses {
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private GatewayProcesses() {}

  /**
   * A gateway on loopback, every port picked free, its home at {@code home}, reaching the cluster
   * through {@code kubeconfig}, with any further {@code flags}.
   */
  static Gateway start(Path home, Path kubeconfig, String... flags) throws Exception {
    List<String> args = new java.util.ArrayList<>(List.of("--host", "127.0.0.1", "--api-port", "0", "--proxy-port", "0", "--grpc-port", "0",
        "--home", home.toString(), "--kubeconfig", kubeconfig.toString()));
    args.addAll(List.of(flags));
    GatewayOptions o = GatewayOptions.parse(args, Map.of());
    return Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  /** A request to {@code g}'s API (JSON body when given; {@code headers} as name, value pairs). */
  static HttpResponse<String> call(Gateway g, String method, String path, String body, String... headers) {
    try {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.apiPort() + path)).header("content-type", "application/json")
          .timeout(Duration.ofSeconds(30)).method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
      for (int i = 0; i + 1 < headers.length; i += 2) {
        b.header(headers[i], headers[i + 1]);
      }
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether {@code g}'s /metrics has the line {@code line}, exactly. */
  static boolean metric(Gateway g, String line) {
    return call(g, "GET", "/metrics", null).body().lines().anyMatch(line::equals);
  }
}
