package sh.navix.agentbox.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.gateway.Gateway;

/**
 * Two gateway processes on one cluster, as a production deployment runs them: one leads, the other
 * stands by; a client may reach either.
 */
class TwoReplicasTest {
  @TempDir static Path home;
  static DevClusterGateways env;
  static DevCluster cluster;
  static Gateway leader;
  static Gateway standby;
  static final HttpClient HTTP = GatewayProcesses.HTTP;

  @BeforeAll
  static void start() throws Exception {
    env = DevClusterGateways.start(home);
    cluster = env.cluster;
    sh.navix.agentbox.devcluster.Pools.create(cluster.client(), "pair", 2);
    leader = env.gateway("a");
    Await.until("gateway a leads", Duration.ofSeconds(30), () -> metric(leader, "agentbox_leader 1.0") ? true : null);
    standby = env.gateway("b");
    Await.until("gateway b stands by", Duration.ofSeconds(30), () -> metric(standby, "agentbox_leader 0.0") ? true : null);
  }

  @AfterAll
  static void stop() throws Exception {
    env.close();
  }

  static HttpResponse<String> call(Gateway g, String method, String path, String body, String... headers) {
    return GatewayProcesses.call(g, method, path, body, headers);
  }

  static boolean metric(Gateway g, String line) {
    return GatewayProcesses.metric(g, line);
  }

  /**
   * A sandbox created and deleted through the replica that does not lead: the leader ends it and
   * writes its record into its own store; the standby replica, which the client keeps asking,
   * answers with the ended sandbox too (from its own store), in a GET and in the list.
   */
  @Test
  void aSandboxEndedByTheLeaderIsOnRecordOnTheStandbyReplica() {
    HttpResponse<String> created = call(standby, "POST", "/v1/sandboxes",
        "{\"poolName\":\"pair\",\"image\":\"example/sandbox:2\",\"waitForRunning\":true}");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String id = new JsonObject(created.body()).getJsonObject("sandbox").getString("sandboxId");
    assertThat(call(standby, "DELETE", "/v1/sandboxes/" + id, null).statusCode()).isEqualTo(202);

    JsonObject ended = Await.until("the ended sandbox on the standby replica", Duration.ofSeconds(30), () -> {
      HttpResponse<String> r = call(standby, "GET", "/v1/sandboxes/" + id, null);
      JsonObject s = r.statusCode() == 200 ? new JsonObject(r.body()).getJsonObject("sandbox") : null;
      return s != null && "Completed".equals(s.getString("status")) ? s : null;
    });
    assertThat(ended.getString("poolName")).isEqualTo("pair");
    assertThat(ended.getString("terminatedAt")).isNotNull();
    JsonObject onLeader = new JsonObject(call(leader, "GET", "/v1/sandboxes/" + id, null).body()).getJsonObject("sandbox");
    assertThat(ended.getString("terminatedAt")).as("as the leader recorded it").isEqualTo(onLeader.getString("terminatedAt"));
    assertThat(call(standby, "GET", "/v1/sandboxes?poolName=pair&status=Completed", null).body()).contains(id);
  }

  /**
   * A create retried with its Idempotency-Key through the standby replica after the sandbox ended
   * (created and deleted through the leader) answers with the ended sandbox, as the leader does,
   * instead of claiming a pod for that sandbox again.
   */
  @Test
  void anIdempotentRetryOnTheStandbyReplicaAfterTheEndGetsTheEndedSandbox() {
    String body = "{\"poolName\":\"pair\",\"image\":\"example/sandbox:2\",\"waitForRunning\":true}";
    HttpResponse<String> created = call(leader, "POST", "/v1/sandboxes", body, "Idempotency-Key", "pair-job-7");
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String id = new JsonObject(created.body()).getJsonObject("sandbox").getString("sandboxId");
    assertThat(call(leader, "DELETE", "/v1/sandboxes/" + id, null).statusCode()).isEqualTo(202);
    Await.until("the ended sandbox on the standby replica", Duration.ofSeconds(30), () -> {
      HttpResponse<String> r = call(standby, "GET", "/v1/sandboxes/" + id, null);
      return r.statusCode() == 200 && "Completed".equals(new JsonObject(r.body()).getJsonObject("sandbox").getString("status")) ? true : null;
    });

    HttpResponse<String> retry = call(standby, "POST", "/v1/sandboxes", body, "Idempotency-Key", "pair-job-7");
    assertThat(retry.statusCode()).as(retry.body()).isEqualTo(201);
    JsonObject again = new JsonObject(retry.body()).getJsonObject("sandbox");
    assertThat(again.getString("sandboxId")).isEqualTo(id);
    assertThat(again.getString("status")).isEqualTo("Completed");
    assertThat(cluster.client().pods().inNamespace("default").withLabel(sh.navix.agentbox.api.crd.Labels.SANDBOX_ID, id).list().getItems())
        .as("pods claimed for the ended sandbox").isEmpty();
  }

  /**
   * Many creates at once through both gateway processes for fewer idle pods than creates: every
   * create ends with a sandbox (201) or a 409 with the pool's counts, no pod serves two sandboxes,
   * and every pod claimed holds a sandbox that some create got as its answer.
   */
  @Test
  void sixtyFourCreatesThroughBothReplicasOverSixteenPods() throws Exception {
    sh.navix.agentbox.devcluster.Pools.create(cluster.client(), "race16", 16);
    for (Gateway g : new Gateway[] {leader, standby}) {
      Await.until("16 idle pods seen by each gateway", Duration.ofSeconds(60), () -> {
        HttpResponse<String> r = call(g, "GET", "/v1/sandboxpools/race16", null);
        return r.statusCode() == 200 && r.body().contains("\"idle\":16") ? true : null;
      });
    }
    List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> creates = new java.util.ArrayList<>();
    for (int i = 0; i < 64; i++) {
      Gateway g = i % 2 == 0 ? leader : standby;
      creates.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.apiPort() + "/v1/sandboxes"))
          .header("content-type", "application/json").timeout(Duration.ofSeconds(60))
          .POST(HttpRequest.BodyPublishers.ofString("{\"poolName\":\"race16\",\"image\":\"example/sandbox:2\",\"waitTimeoutSeconds\":2}"))
          .build(), HttpResponse.BodyHandlers.ofString()));
    }
    Map<String, String> podBySandbox = new java.util.HashMap<>();
    int refused = 0;
    for (var f : creates) {
      HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
      if (r.statusCode() == 201) {
        JsonObject s = new JsonObject(r.body()).getJsonObject("sandbox");
        podBySandbox.put(s.getString("sandboxId"), s.getString("podName"));
      } else {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        assertThat(new JsonObject(r.body()).getJsonObject("detail").containsKey("idle")).as(r.body()).isTrue();
        refused++;
      }
    }
    assertThat(podBySandbox).hasSize(16);
    assertThat(Set.copyOf(podBySandbox.values())).as("pods handed out, each once").hasSize(16);
    assertThat(refused).isEqualTo(48);
    Map<String, String> held = new java.util.HashMap<>();
    for (var p : cluster.client().pods().inNamespace("default").withLabel(sh.navix.agentbox.api.crd.Labels.SANDBOX_POOL, "race16").list().getItems()) {
      String id = sh.navix.agentbox.api.lifecycle.Pods.sandboxId(p);
      if (id != null) {
        held.put(id, p.getMetadata().getName());
      }
    }
    assertThat(held).as("what the cluster holds: each sandbox a create was answered with, on its pod").isEqualTo(podBySandbox);
  }
}
