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

  /**
   * Two pods hold one sandbox (two replicas claimed for one key): whichever order the cache lists
   * them in, the one claimed first is where it lives, as the leader decides, and a holder
   * already stopping (the recycled duplicate) or being deleted is never it.
   */
  @Test
  void aSandboxOnTwoPodsLivesOnTheOneClaimedFirst() {
    Pod first = holder("a-2", "running", "2026-12-01T10:00:00Z", false);
    Pod second = holder("a-1", "starting", "2026-12-01T10:00:01Z", false);
    assertThat(Pods.holder(java.util.List.of(first, second))).contains(first);
    assertThat(Pods.holder(java.util.List.of(second, first))).contains(first);
    Pod sameSecond = holder("a-0", "starting", "2026-12-01T10:00:00Z", false);
    assertThat(Pods.holder(java.util.List.of(first, sameSecond))).as("same claim time: by name").contains(sameSecond);

    Pod recycled = holder("a-0", "stopping", "2026-12-01T09:00:00Z", false);
    Pod deleting = holder("a-3", "running", "2026-12-01T09:00:00Z", true);
    assertThat(Pods.holder(java.util.List.of(recycled, deleting, second))).contains(second);
    assertThat(Pods.holder(java.util.List.of(recycled))).contains(recycled);
    assertThat(Pods.holder(java.util.List.of())).isEmpty();
  }

  private static Pod holder(String name, String phase, String claimedAt, boolean deleting) {
    return new PodBuilder().withNewMetadata().withName(name).withNamespace("default")
        .addToLabels(sh.navix.agentbox.api.crd.Labels.SANDBOX_PHASE, phase)
        .addToAnnotations(sh.navix.agentbox.api.crd.Annotations.CLAIMED_AT, claimedAt)
        .withDeletionTimestamp(deleting ? "2026-12-01T11:00:00Z" : null).endMetadata().build();
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
