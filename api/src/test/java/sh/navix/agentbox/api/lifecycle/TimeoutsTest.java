package sh.navix.agentbox.api.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.crd.Annotations;

class TimeoutsTest {
  /** Claimed at 12:00:00.900, written as 12:00:00: a 60 s startup timeout must not end before 12:01:00.900. */
  @Test
  void aStartupTimeoutNeverEndsBeforeItsTimeHasPassed() {
    Pod p = pod(Map.of(Annotations.CLAIMED_AT, "2026-12-01T12:00:00Z", Annotations.STARTUP_TIMEOUT, "60"));
    assertThat(Timeouts.startupDeadline(p, null).orElseThrow()).isAfterOrEqualTo(Instant.parse("2026-12-01T12:01:00.999Z"));
  }

  /** Active at 12:00:00.900, written as 12:00:00: a 30 s idle timeout (flush interval 10 s) must not end before 12:00:40.900. */
  @Test
  void anIdleTimeoutNeverEndsBeforeItsTimeHasPassed() {
    Pod p = pod(Map.of(Annotations.STARTED_AT, "2026-12-01T11:59:00Z", Annotations.LAST_ACTIVE, "2026-12-01T12:00:00Z",
        Annotations.IDLE_TIMEOUT, "30"));
    assertThat(Timeouts.idleDeadline(p).orElseThrow()).isAfterOrEqualTo(Instant.parse("2026-12-01T12:00:40.999Z"));
  }

  private static Pod pod(Map<String, String> annotations) {
    return new PodBuilder().withNewMetadata().withName("p").withNamespace("default").withAnnotations(annotations).endMetadata()
        .withNewSpec().addNewContainer().withName("c").withImage("i").endContainer().endSpec().build();
  }
}
