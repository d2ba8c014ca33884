package sh.navix.agentbox.api.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import org.junit.jupiter.api.Test;

class PodsTest {
  /** The claim swapped only the sidecar; the kubelet still reports the old one, ready. */
  @Test
  void aPodWhoseSidecarStillRunsTheOldImageHasNotStarted() {
    Pod p = pod("example/sandbox:1", "example/side:2", running("sandbox", "example/sandbox:1"), running("side", "example/side:1"));
    assertThat(Pods.runsReady(p, "example/sandbox:1")).as("the first container alone").isTrue();
    assertThat(Pods.startedOnSpecImages(p)).isFalse();
  }

  @Test
  void aPodWithEveryContainerUpOnItsSpecImageHasStarted() {
    Pod p = pod("example/sandbox:2", "example/side:2", running("sandbox", "docker.io/example/sandbox:2"), running("side", "example/side:2"));
    assertThat(Pods.startedOnSpecImages(p)).isTrue();
  }

  private static ContainerStatus running(String name, String image) {
    return new ContainerStatusBuilder().withName(name).withImage(image).withReady(true).withNewState().withNewRunning().endRunning().endState()
        .build();
  }

  private static Pod pod(String main, String side, ContainerStatus... statuses) {
    return new PodBuilder().withNewMetadata().withName("p").withNamespace("default").endMetadata()
        .withNewSpec().addNewContainer().withName("sandbox").withImage(main).endContainer()
        .addNewContainer().withName("side").withImage(side).endContainer().endSpec()
        .withNewStatus().addNewCondition().withType("Ready").withStatus("True").endCondition().withContainerStatuses(statuses).endStatus()
        .build();
  }
}
