package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Patching a container image in place restarts it as a kubelet would: new container, new boot, state wiped. */
class ImageChangeRestartsContainerTest extends DevClusterTestBase {

  @Test
  void imageSwapRestartsTheContainerWithFreshState() throws Exception {
    createPod("swap", "example/idle:1", List.of());
    Pod before = awaitReady("swap", "example/idle:1");
    String base = "http://" + before.getStatus().getPodIP() + ":8080";
    String bootBefore = new JsonObject(http("GET", base + "/whoami", null).body()).getString("bootId");
    assertThat(http("PUT", base + "/state/greeting", "hello").statusCode()).isEqualTo(204);
    assertThat(http("GET", base + "/state/greeting", null).body()).isEqualTo("hello");

    client.pods().inNamespace("default").withName("swap").patch(PatchContext.of(PatchType.JSON),
        "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"example/sandbox:2\"}]");
    Pod after = awaitReady("swap", "example/sandbox:2");

    ContainerStatus was = before.getStatus().getContainerStatuses().get(0);
    ContainerStatus now = after.getStatus().getContainerStatuses().get(0);
    assertThat(now.getRestartCount()).isEqualTo(was.getRestartCount() + 1);
    assertThat(now.getContainerID()).isNotEqualTo(was.getContainerID());
    assertThat(after.getStatus().getPodIP()).isEqualTo(before.getStatus().getPodIP());
    JsonObject who = new JsonObject(http("GET", base + "/whoami", null).body());
    assertThat(who.getString("bootId")).isNotEqualTo(bootBefore);
    assertThat(who.getString("image")).isEqualTo("example/sandbox:2");
    assertThat(http("GET", base + "/state/greeting", null).statusCode()).isEqualTo(404);
  }

  @Test
  void containerIsNotReadyWhileTheNewImageIsPulled() {
    createPod("pulling", "example/idle:1", List.of());
    awaitReady("pulling", "example/idle:1");
    // A long pull is simulated by an image that never arrives: the pod must report not ready.
    client.pods().inNamespace("default").withName("pulling").patch(PatchContext.of(PatchType.JSON),
        "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/image\",\"value\":\"example/fail-pull:1\"}]");
    Pod p = await("pod not ready after the swap", java.time.Duration.ofSeconds(10), () -> {
      Pod x = get("pulling");
      return !ready(x) && "example/fail-pull:1".equals(x.getStatus().getContainerStatuses().get(0).getImage()) ? x : null;
    });
    assertThat(p.getStatus().getContainerStatuses().get(0).getReady()).isFalse();
  }
}
