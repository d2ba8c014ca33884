package sh.navix.agentbox.devcluster;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Starts one dev cluster per test class and offers deadline-bounded waits. */
abstract class DevClusterTestBase {
  static Vertx vertx;
  static DevCluster cluster;
  static KubernetesClient client;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();

  @BeforeAll
  static void startCluster() throws Exception {
    vertx = Vertx.vertx();
    cluster = DevCluster.start(vertx, new DevClusterOptions().setPullDelay(Duration.ofMillis(100)))
        .await(30, TimeUnit.SECONDS);
    client = cluster.client();
  }

  @AfterAll
  static void stopCluster() throws Exception {
    cluster.stop().await(30, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Polls {@code probe} until it returns non-null, failing after {@code timeout}. */
  static <T> T await(String what, Duration timeout, Supplier<T> probe) {
    return sh.navix.agentbox.devcluster.Await.until(what, timeout, probe);
  }

  static Pod createPod(String name, String image, List<String> finalizers) {
    Pod pod = new PodBuilder()
        .withNewMetadata().withName(name).withNamespace("default").withFinalizers(finalizers).endMetadata()
        .withNewSpec().addNewContainer().withName("main").withImage(image)
        .addNewPort().withContainerPort(8080).endPort().endContainer().endSpec()
        .build();
    return client.pods().inNamespace("default").resource(pod).create();
  }

  static Pod get(String name) {
    return client.pods().inNamespace("default").withName(name).get();
  }

  static boolean ready(Pod p) {
    return p != null && p.getStatus() != null && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  static Pod awaitReady(String name, String image) {
    return await(name + " ready on " + image, Duration.ofSeconds(20), () -> {
      Pod p = get(name);
      return ready(p) && image.equals(p.getStatus().getContainerStatuses().get(0).getImage()) ? p : null;
    });
  }

  static HttpResponse<String> http(String method, String url, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
