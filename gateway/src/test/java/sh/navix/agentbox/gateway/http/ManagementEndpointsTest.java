package sh.navix.agentbox.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The management listener's own endpoints: probes, errors as JSON, and an OpenAPI document that covers every route. */
@ExtendWith(VertxExtension.class)
class ManagementEndpointsTest {
  private final AtomicBoolean ready = new AtomicBoolean(false);
  private ApiVerticle api;
  private WebClient http;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    api = new ApiVerticle("127.0.0.1", 0, Duration.ofSeconds(1), ready::get, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    vertx.deployVerticle(api).await(10, TimeUnit.SECONDS);
    http = WebClient.create(vertx);
  }

  @AfterEach
  void close() {
    http.close();
  }

  private HttpResponse<Buffer> get(String path) throws Exception {
    return http.get(api.actualPort(), "127.0.0.1", path).send().await(10, TimeUnit.SECONDS);
  }

  @Test
  void readyzFollowsTheCacheAndHealthzAlwaysAnswers() throws Exception {
    HttpResponse<Buffer> notReady = get("/readyz");
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(notReady.bodyAsJsonObject().getString("error")).contains("not synced");
    assertThat(get("/healthz").statusCode()).isEqualTo(200);

    ready.set(true);
    assertThat(get("/readyz").statusCode()).isEqualTo(200);

    api.beginShutdown();
    assertThat(get("/readyz").bodyAsJsonObject().getString("error")).isEqualTo("shutting down");
  }

  @Test
  void unknownRoutesAnswerJson404() throws Exception {
    HttpResponse<Buffer> r = get("/v1/nothing-here");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.getHeader("content-type")).isEqualTo("application/json");
    assertThat(r.bodyAsJsonObject().getString("error")).isEqualTo("no route for GET /v1/nothing-here");
  }

  @Test
  void openApiDocumentsEveryRoute(Vertx vertx) throws Exception {
    JsonObject doc = get("/openapi.json").bodyAsJsonObject();
    assertThat(doc.getString("openapi")).startsWith("3.");
    JsonObject paths = doc.getJsonObject("paths");
    for (Route route : api.router().getRoutes()) {
      String path = route.getPath();
      assertThat(paths.containsKey(path)).as("route %s is documented in openapi.json", path).isTrue();
      for (var method : route.methods()) {
        assertThat(paths.getJsonObject(path).containsKey(method.name().toLowerCase()))
            .as("%s %s is documented", method, path).isTrue();
      }
    }
  }
}
