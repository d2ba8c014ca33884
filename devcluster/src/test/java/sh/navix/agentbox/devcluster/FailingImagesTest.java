package sh.navix.agentbox.devcluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Images named fail-pull never pull; images named crash keep exiting with code 1. */
class FailingImagesTest extends DevClusterTestBase {

  @Test
  void failPullGoesToImagePullBackOff() {
    createPod("nopull", "example/fail-pull:1", List.of());
    Pod p = await("ImagePullBackOff", Duration.ofSeconds(10), () -> {
      Pod x = get("nopull");
      return reason(x).equals("ImagePullBackOff") ? x : null;
    });
    assertThat(p.getStatus().getPhase()).isEqualTo("Pending");
    assertThat(ready(p)).isFalse();
    assertThat(p.getStatus().getContainerStatuses().get(0).getState().getWaiting().getMessage()).contains("example/fail-pull:1");
  }

  @Test
  void crashGoesToCrashLoopBackOffWithExitCode1() {
    createPod("crasher", "example/crash:1", List.of());
    Pod p = await("a restarted crash loop", Duration.ofSeconds(15), () -> {
      Pod x = get("crasher");
      return reason(x).equals("CrashLoopBackOff") && x.getStatus().getContainerStatuses().get(0).getRestartCount() >= 1 ? x : null;
    });
    ContainerStatus cs = p.getStatus().getContainerStatuses().get(0);
    assertThat(cs.getLastState().getTerminated().getExitCode()).isEqualTo(1);
    assertThat(cs.getReady()).isFalse();
    assertThat(ready(p)).isFalse();
  }

  static String reason(Pod p) {
    if (p == null || p.getStatus() == null || p.getStatus().getContainerStatuses() == null
        || p.getStatus().getContainerStatuses().isEmpty()) {
      return "";
    }
    var state = p.getStatus().getContainerStatuses().get(0).getState();
    return state != null && state.getWaiting() != null && state.getWaiting().getReason() != null ? state.getWaiting().getReason() : "";
  }
}
