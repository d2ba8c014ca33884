package sh.navix.agentbox.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolSpec;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.DevClusterOptions;
import sh.navix.agentbox.gateway.Gateway;
import sh.navix.agentbox.gateway.GatewayOptions;

/**
 * The Kubernetes API goes away under a running gateway (a TCP proxy in front of the dev cluster is
 * cut): creates answer 503 at once, no pod is left half-claimed, and when the API comes back the
 * gateway recovers on its own.
 */
class ApiOutageTest {
  @TempDir static Path home;
  static Vertx vertx;
  static DevCluster cluster;
  static Gateway gateway;
  static NetServer proxy;
  static int proxyPort;
  static final Set<NetSocket> open = ConcurrentHashMap.newKeySet();
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    cluster = DevCluster.start(vertx, new DevClusterOptions().setPullDelay(Duration.ofMillis(100))).await(30, TimeUnit.SECONDS);
    proxyUp(0);
    String kubeconfig = Files.readString(cluster.writeKubeconfig(home.resolve("direct")))
        .replace(cluster.masterUrl(), "http://127.0.0.1:" + proxyPort);
    Path viaProxy = Files.writeString(home.resolve("kubeconfig"), kubeconfig);

    SandboxPool pool = new SandboxPool();
    pool.setMetadata(new ObjectMetaBuilder().withName("outage").withNamespace("default").build());
    SandboxPoolSpec spec = new SandboxPoolSpec();
    spec.setReplicas(3);
    spec.setIdleImage("example/idle:1");
    spec.setTemplate(new PodTemplateSpecBuilder().withNewSpec().addNewContainer().withName("sandbox").withImage("example/sandbox:1")
        .endContainer().endSpec().build());
    pool.setSpec(spec);
    cluster.client().resource(pool).create();

    GatewayOptions o = GatewayOptions.parse(List.of("--host", "127.0.0.1", "--api-port", "0", "--proxy-port", "0", "--grpc-port", "0", "--home", home.resolve("gw").toString(),
        "--kubeconfig", viaProxy.toString()), Map.of());
    gateway = Gateway.start(o).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Await.until("3 idle pods", Duration.ofSeconds(30), () -> idle() == 3 ? true : null);
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.stop().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    proxy.close().await(10, TimeUnit.SECONDS);
    cluster.stop().await(30, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Listens on {@code port} (0: any) and pipes every connection to the dev cluster's API server. */
  static void proxyUp(int port) throws Exception {
    URI api = URI.create(cluster.masterUrl());
    var client = vertx.createNetClient();
    proxy = vertx.createNetServer().connectHandler(in -> {
      in.pause();
      open.add(in);
      client.connect(api.getPort(), api.getHost()).onSuccess(out -> {
        open.add(out);
        in.pipeTo(out);
        out.pipeTo(in);
        in.resume();
      }).onFailure(e -> in.close());
    }).listen(port, "127.0.0.1").await(10, TimeUnit.SECONDS);
    proxyPort = proxy.actualPort();
    // Connections held through the partition carry on where they stopped.
    open.forEach(NetSocket::resume);
  }

  /**
   * A network partition: new connections are refused, open ones go silent (paused, not cut).
   * Cutting them would not do: the mock API server blocks its event loop for a long time when a
   * watch connection drops abruptly, which is a flaw of the stand-in, not a case to test.
   */
  static void proxyDown() throws Exception {
    proxy.close().await(10, TimeUnit.SECONDS);
    open.forEach(NetSocket::pause);
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

  @Test
  void createsAnswer503WhileTheApiIsDownAndRecoverAfterwards() throws Exception {
    assertThat(create().statusCode()).isEqualTo(201);

    proxyDown();
    HttpResponse<String> down = create();
    assertThat(down.statusCode()).as(down.body()).isEqualTo(503);
    assertThat(new JsonObject(down.body()).getString("error")).isNotBlank();
    assertThat(cluster.client().pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "outage").list().getItems().stream()
        .filter(Pods::claimable).count()).as("no pod claimed by the failed create").isEqualTo(2);

    proxyUp(proxyPort);
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
