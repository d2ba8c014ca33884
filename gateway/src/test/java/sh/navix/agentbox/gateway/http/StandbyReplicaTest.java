package sh.navix.agentbox.gateway.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.devcluster.Await;
import sh.navix.agentbox.devcluster.DevCluster;
import sh.navix.agentbox.devcluster.Leases;
import sh.navix.agentbox.gateway.Gateway;

/**
 * A gateway that does not lead (another replica holds the Lease) serves creates like any other;
 * what it learns of a sandbox's end comes from the pod events alone, since the history record is
 * written by the leader, into the leader's own store.
 */
class StandbyReplicaTest {
  @TempDir static Path home;
  static DevClusterGateways env;
  static DevCluster cluster;
  static Gateway gateway;
  static final HttpClient HTTP = GatewayProcesses.HTTP;

  @BeforeAll
  static void start() throws Exception {
    env = DevClusterGateways.start(home);
    cluster = env.cluster;
    sh.navix.agentbox.devcluster.Pools.create(cluster.client(), "standby", 2);
    gateway = env.gateway("gw");
    // The gateway fills the pool while it leads, then another replica takes the Lease.
    Await.until("2 idle pods", Duration.ofSeconds(30), () -> pods(SandboxPhase.IDLE).stream().filter(Pods::ready).count() == 2 ? true : null);
    Leases.takeOver(cluster.client(), "default", "agentbox-gateway-leader", "another-replica", Duration.ofHours(1));
    Await.until("the gateway stands by", Duration.ofSeconds(30), () -> GatewayProcesses.metric(gateway, "agentbox_leader 0.0") ? true : null);
  }

  @AfterAll
  static void stop() throws Exception {
    env.close();
  }

  static List<Pod> pods(SandboxPhase phase) {
    return cluster.client().pods().inNamespace("default").withLabel(Labels.SANDBOX_POOL, "standby").list().getItems().stream()
        .filter(p -> Pods.inPhase(p, phase)).toList();
  }

  /**
   * A create waiting for its sandbox to run (waitForRunning) whose pod is deleted meanwhile (here
   * by hand; an eviction, or the pool's deletion, do the same): the leader writes the record
   * elsewhere, so this replica answers from what it saw, at once: 422, the sandbox did not start
   * because its pod is gone. Not a 504 once the startup timeout has run out.
   */
  @Test
  void aWaitForRunningCreateWhosePodIsDeletedFailsAtOnce() throws Exception {
    CompletableFuture<HttpResponse<String>> create = HTTP.sendAsync(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + gateway.apiPort() + "/v1/sandboxes"))
        .header("content-type", "application/json").timeout(Duration.ofSeconds(120))
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"poolName\":\"standby\",\"image\":\"example/slow-pull:1\",\"startupTimeout\":\"90s\",\"waitForRunning\":true}")).build(),
        HttpResponse.BodyHandlers.ofString());
    Pod starting = Await.until("the claimed pod starting", Duration.ofSeconds(20),
        () -> pods(SandboxPhase.STARTING).stream().findFirst().orElse(null));
    KubernetesClient admin = cluster.client();
    var pod = admin.pods().inNamespace("default").withName(Pods.name(starting));
    // A merge patch, not a compare-and-swap: the simulated node is writing the pod's status meanwhile.
    pod.patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
        "{\"metadata\":{\"finalizers\":null}}");
    pod.withGracePeriod(0).delete();

    HttpResponse<String> r = create.get(20, TimeUnit.SECONDS);
    assertThat(r.statusCode()).as("the answer: %s", r.body()).isEqualTo(422);
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getString("error")).contains("did not start: PodDeleted");
    JsonObject sandbox = body.getJsonObject("detail").getJsonObject("sandbox");
    assertThat(sandbox.getString("status")).isEqualTo("Canceled");
    assertThat(sandbox.getString("podName")).isEqualTo(Pods.name(starting));
    assertThat(sandbox.getString("failureMessage")).as("as the leader records it").isEqualTo("the pod was deleted before the sandbox was released");
  }
}
