package sh.navix.agentbox.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxTemplate;

/** {@code java -jar agentbox-gateway.jar dev}, in-process: boots to /readyz, serves /metrics, demo pods idle and reachable. */
class DevModeBootTest {
  @TempDir static Path home;
  static Gateway gateway;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void boot() throws Exception {
    GatewayOptions o =
        GatewayOptions.parse(
            List.of("dev", "--host", "127.0.0.1", "--api-port", "0", "--dev-api-port", "0", "--proxy-port", "0", "--grpc-port", "0", "--home", home.toString()),
            Map.of());
    gateway = Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.stop().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static String api(String path) {
    return "http://127.0.0.1:" + gateway.apiPort() + path;
  }

  static <T> T await(String what, Duration timeout, Supplier<T> probe) {
    return sh.navix.agentbox.devcluster.Await.until(what, timeout, probe);
  }

  @Test
  void bootsToReadyAndServesMetrics() throws Exception {
    await("/readyz 200", Duration.ofSeconds(30), () -> {
      try {
        return get(api("/readyz")).statusCode() == 200 ? true : null;
      } catch (Exception e) {
        return null;
      }
    });
    HttpResponse<String> metrics = get(api("/metrics"));
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("jvm_memory_used_bytes").contains("vertx_http_server_requests_total");
    // The Kubernetes client runs on the gateway's Vert.x: its watches (pods, pools, templates) are
    // in the HTTP client metrics.
    double watches = metrics.body().lines().filter(l -> l.startsWith("vertx_http_client_active_ws_connections "))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElse(-1);
    assertThat(watches).as("open watches in vertx_http_client_active_ws_connections").isGreaterThanOrEqualTo(3);
  }

  @Test
  void informersReopenAnEndedWatchAfterATenthOfASecond() {
    // Each informer ends its own watch every 5-10 minutes; until it is open again the cache hears of
    // no change. fabric8's own delay before reopening it is a second.
    assertThat(gateway.client().getConfiguration().getWatchReconnectInterval()).isEqualTo(100);
  }

  @Test
  void demoPoolHasThreeIdlePodsReachableOnTheirOwnAddress() throws Exception {
    Path kubeconfig = home.resolve("dev/kubeconfig");
    assertThat(kubeconfig).exists();
    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build()) {
      assertThat(client.resources(SandboxTemplate.class).withName("demo").get()).isNotNull();
      // The pool reconciler copies the named template into the pool and creates the warm pods.
      SandboxPool pool = await("demo pool resolved", Duration.ofSeconds(30), () -> {
        SandboxPool p = client.resources(SandboxPool.class).inNamespace("default").withName("demo").get();
        return p.getSpec().getTemplate() != null ? p : null;
      });
      assertThat(pool.getSpec().getReplicas()).isEqualTo(3);
      assertThat(pool.getSpec().getIdleImage()).isEqualTo("agentbox/idle:dev");
      assertThat(pool.getSpec().getRuntimes()).extracting(r -> r.getName()).containsExactly("http");

      List<Pod> ready = await("3 ready demo pods", Duration.ofSeconds(30), () -> {
        List<Pod> pods = client.pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "demo").list().getItems();
        boolean allReady = pods.size() == 3 && pods.stream().allMatch(DevModeBootTest::isReady);
        return allReady ? pods : null;
      });
      for (Pod pod : ready) {
        assertThat(pod.getMetadata().getLabels()).containsEntry(Labels.SANDBOX_PHASE, "idle");
        assertThat(pod.getSpec().getContainers().get(0).getImage()).isEqualTo("agentbox/idle:dev");
        HttpResponse<String> whoami = get("http://" + pod.getStatus().getPodIP() + ":8080/whoami");
        assertThat(whoami.statusCode()).isEqualTo(200);
        assertThat(whoami.body()).contains("\"pod\":\"" + pod.getMetadata().getName() + "\"");
      }
      assertThat(ready.stream().map(p -> p.getStatus().getPodIP()).distinct()).hasSize(3);
    }
  }

  static boolean isReady(Pod p) {
    return p.getStatus() != null && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }
}
