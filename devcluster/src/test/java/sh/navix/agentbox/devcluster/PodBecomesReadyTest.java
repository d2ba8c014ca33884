package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A new pod is scheduled, gets its own loopback IP, becomes Ready and serves its dev runtime there. */
class PodBecomesReadyTest extends DevClusterTestBase {

  @Test
  void podsGetUniqueAddressesAndBecomeReady() throws Exception {
    createPod("ready-a", "example/app:1", List.of());
    createPod("ready-b", "example/app:1", List.of());
    Pod a = awaitReady("ready-a", "example/app:1");
    Pod b = awaitReady("ready-b", "example/app:1");

    assertThat(a.getSpec().getNodeName()).isEqualTo("dev-node-1");
    assertThat(a.getStatus().getPhase()).isEqualTo("Running");
    assertThat(a.getStatus().getPodIP()).matches("127\\.\\d+\\.\\d+\\.\\d+").isNotEqualTo("127.0.0.1");
    assertThat(a.getStatus().getPodIP()).isNotEqualTo(b.getStatus().getPodIP());
    assertThat(a.getStatus().getConditions()).extracting(c -> c.getType() + "=" + c.getStatus())
        .contains("PodScheduled=True", "Initialized=True", "ContainersReady=True", "Ready=True");
    ContainerStatus cs = a.getStatus().getContainerStatuses().get(0);
    assertThat(cs.getReady()).isTrue();
    assertThat(cs.getRestartCount()).isZero();
    assertThat(cs.getContainerID()).matches("containerd://[0-9a-f]{64}");
    assertThat(cs.getImageID()).startsWith("docker-pullable://example/app:1@sha256:");
    assertThat(cs.getState().getRunning().getStartedAt()).isNotBlank();

    JsonObject who = new JsonObject(http("GET", "http://" + a.getStatus().getPodIP() + ":8080/whoami", null).body());
    assertThat(who.getString("pod")).isEqualTo("ready-a");
    assertThat(who.getString("namespace")).isEqualTo("default");
    assertThat(who.getString("image")).isEqualTo("example/app:1");
    assertThat(who.getString("ip")).isEqualTo(a.getStatus().getPodIP());
    assertThat(who.getInteger("port")).isEqualTo(8080);
    assertThat(who.getString("containerId")).isEqualTo(cs.getContainerID());
    assertThat(http("GET", "http://" + a.getStatus().getPodIP() + ":8080/health", null).statusCode()).isEqualTo(200);
  }

  /** Two dev clusters side by side (dev mode and a test run, say) do not hand their pods the same address and port. */
  @Test
  void podsOfTwoDevClustersInOneProcessGetAddressesOfTheirOwn() throws Exception {
    DevCluster other = DevCluster.start(vertx, new DevClusterOptions().setApiPort(0).setPullDelay(Duration.ofMillis(100)))
        .await(30, TimeUnit.SECONDS);
    try {
      createPod("twin", "example/app:1", List.of());
      other.client().pods().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.PodBuilder()
          .withNewMetadata().withName("twin").withNamespace("default").endMetadata()
          .withNewSpec().addNewContainer().withName("main").withImage("example/app:1").addNewPort().withContainerPort(8080).endPort()
          .endContainer().endSpec().build()).create();
      Pod mine = awaitReady("twin", "example/app:1");
      Pod theirs = await("the other cluster's pod ready", Duration.ofSeconds(20), () -> {
        Pod p = other.client().pods().inNamespace("default").withName("twin").get();
        return ready(p) ? p : null;
      });
      assertThat(theirs.getStatus().getPodIP()).isNotEqualTo(mine.getStatus().getPodIP());
      for (Pod p : List.of(mine, theirs)) {
        JsonObject who = new JsonObject(http("GET", "http://" + p.getStatus().getPodIP() + ":8080/whoami", null).body());
        assertThat(who.getString("containerId")).isEqualTo(p.getStatus().getContainerStatuses().get(0).getContainerID());
      }
    } finally {
      other.stop().await(30, TimeUnit.SECONDS);
    }
  }
}
