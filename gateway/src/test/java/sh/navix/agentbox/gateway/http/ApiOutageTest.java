package sh.navix.agentbox.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.ApiHop;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.gateway.Gateway;

/**
 * The Kubernetes API goes away under a running gateway (a TCP proxy in front of the dev cluster is
 * cut): creates answer 503 at once, no pod is left half-claimed, and when the API comes back the
 * gateway recovers on its own.
 */
class ApiOutageTest {
  @TempDir static Path home;
  static DevClusterGateways env;
  static Vertx vertx;
  static DevCluster cluster;
  static Gateway gateway;
  static ApiHop proxy;
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws Exception {
    env = DevClusterGateways.start(home);
    vertx = env.vertx;
    cluster = env.cluster;
    proxy = ApiHop.start(vertx, cluster).await(10, TimeUnit.SECONDS);
    String kubeconfig = Files.readString(cluster.writeKubeconfig(home.resolve("direct"))).replace(cluster.masterUrl(), proxy.masterUrl());
    Path viaProxy = Files.writeString(home.resolve("kubeconfig"), kubeconfig);

    sh.navix.agentbox.devcluster.Pools.create(cluster.client(), "outage", 3);

    gateway = env.gateway("gw", viaProxy);
    Await.until("3 idle pods", Duration.ofSeconds(30), () -> idle() == 3 ? true : null);
  }

  @AfterAll
  static void stop() throws Exception {
    env.stop(gateway); // through the hop, still there: it hands back its Lease
    proxy.close().await(10, TimeUnit.SECONDS);
    env.close();
  }

  /** The proxy listening again; connections held through the partition carry on where they stopped. */
  static void proxyUp() throws Exception {
    proxy.up().await(10, TimeUnit.SECONDS);
  }

  /** A network partition: new connections are refused, open ones go silent (paused, not cut). */
  static void proxyDown() throws Exception {
    proxy.down(false).await(10, TimeUnit.SECONDS);
  }

  static long idle() {
    return cluster.client().pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "outage").list().getItems().stream()
        .filter(p -> Pods.inPhase(p, sh.navix.agentbox.api.crd.SandboxPhase.IDLE) && Pods.ready(p)).count();
  }

  static HttpResponse<String> create() throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes"))
        .header("content-type", "application/json").timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString("{\"poolName\":\"outage\",\"image\":\"example/sandbox:2\",\"waitTimeoutSeconds\":2}")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A create whose client hangs up while its claim is being written (the write stalls: the API
   * does not answer for a moment) ends with no pod held: the claim goes through, nobody can ever
   * learn the sandbox's id, so it is released at once.
   */
  @Test
  void aClaimWhoseClientLeftWhileItWasWrittenIsReleased() throws Exception {
    sh.navix.agentbox.devcluster.Pools.create(cluster.client(), "gone", 1);
    Await.until("1 claimable pod in pool gone, in the gateway's view too", Duration.ofSeconds(30), () -> gateway.cache()
        .pods("default", "gone", sh.navix.agentbox.api.crd.SandboxPhase.IDLE).stream().filter(Pods::claimable).count() == 1 ? true : null);

    proxyDown(); // the claim write stalls in the hop until it is up again
    try (java.net.Socket client = new java.net.Socket("127.0.0.1", gateway.apiPort())) {
      String body = "{\"poolName\":\"gone\",\"image\":\"example/sandbox:2\"}";
      client.getOutputStream().write(("POST /v1/sandboxes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
          + body.length() + "\r\n\r\n" + body).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      client.getOutputStream().flush();
      Await.until("the claim write in flight", Duration.ofSeconds(10), () -> {
        var g = gateway.registry().find("agentbox_claim_queue_length").tag("pool", "gone").gauge();
        return g != null && g.value() == 1 ? true : null;
      });
    } // the client hangs up
    proxyUp();

    // What a user listing the pool's sandboxes sees: one, ended because its client went away.
    JsonObject ended = Await.until("the claim written, then released", Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
      try {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.apiPort()
            + "/v1/sandboxes?poolName=gone")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        JsonObject list = new JsonObject(r.body());
        return r.statusCode() == 200 && list.getJsonArray("sandboxes").size() == 1
            && "ClientGone".equals(list.getJsonArray("sandboxes").getJsonObject(0).getString("failureReason"))
            ? list.getJsonArray("sandboxes").getJsonObject(0) : null;
      } catch (Exception e) {
        return null;
      }
    });
    assertThat(ended.getString("status")).isIn("Stopping", "Canceled", "Completed");
    Await.until("no pod of pool gone held", Duration.ofSeconds(30), () -> cluster.client().pods().inNamespace("default")
        .withLabel(Labels.SANDBOX_POOL, "gone").list().getItems().stream().noneMatch(p -> Pods.sandboxId(p) != null) ? true : null);
  }

  @Test
  void createsAnswer503WhileTheApiIsDownAndRecoverAfterwards() throws Exception {
    assertThat(create().statusCode()).isEqualTo(201);

    proxyDown();
    HttpResponse<String> down = create();
    assertThat(down.statusCode()).as(down.body()).isEqualTo(503);
    assertThat(new JsonObject(down.body()).getString("error")).isNotBlank();
    assertThat(cluster.client().pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "outage").list().getItems().stream()
        .filter(Pods::claimable).count()).as("no pod claimed by the failed create").isEqualTo(2);

    proxyUp();
    HttpResponse<String> back = Await.until("a create succeeds again", Duration.ofSeconds(60), Duration.ofMillis(500), () -> {
      try {
        HttpResponse<String> r = create();
        return r.statusCode() == 201 ? r : null;
      } catch (Exception e) {
        return null;
      }
    });
    assertThat(new JsonObject(back.body()).getJsonObject("sandbox").getString("status")).isEqualTo("Starting");
    // Every claimed pod belongs to a create that got its 201: two sandboxes, two claimed pods.
    assertThat(cluster.client().pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "outage").list().getItems().stream()
        .filter(p -> Pods.sandboxId(p) != null).count()).isEqualTo(2);
  }
}
