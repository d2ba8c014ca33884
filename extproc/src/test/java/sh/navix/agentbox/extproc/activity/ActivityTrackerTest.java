package sh.navix.agentbox.extproc.activity;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.crd.Annotations;

/** When a replica may leave a due last-active write out: the rules on their own. */
class ActivityTrackerTest {
  static final long NOW = Instant.parse("2026-12-07T10:00:00.400Z").toEpochMilli();
  static final long TICK = 100;

  static Pod pod(String idleTimeout, String lastActive) {
    Map<String, String> a = new HashMap<>();
    a.put(Annotations.STARTED_AT, "2026-12-07T09:00:00Z");
    if (idleTimeout != null) {
      a.put(Annotations.IDLE_TIMEOUT, idleTimeout);
    }
    if (lastActive != null) {
      a.put(Annotations.LAST_ACTIVE, lastActive);
    }
    return new PodBuilder().withNewMetadata().withName("p").withNamespace("default").withAnnotations(a).endMetadata().build();
  }

  @Test
  void aLastActiveOfTheSameSecondOrLaterCoversTheWrite() {
    assertThat(ActivityTracker.covered(pod("30", "2026-12-07T10:00:00Z"), NOW)).as("same second, as it would be written").isTrue();
    assertThat(ActivityTracker.covered(pod("30", "2026-12-07T10:00:01Z"), NOW)).isTrue();
    assertThat(ActivityTracker.covered(pod("30", "2026-12-07T09:59:59Z"), NOW)).isFalse();
    assertThat(ActivityTracker.covered(pod("30", null), NOW)).isFalse();
    assertThat(ActivityTracker.covered(pod("30", "yesterday"), NOW)).as("unreadable: write").isFalse();
  }

  @Test
  void aLastActiveUnderHalfAnIntervalOldIsRecentEnough() {
    long interval = 10_000; // idle timeout 30 s
    assertThat(ActivityTracker.recentEnough(pod("30", "2026-12-07T09:59:56Z"), NOW, interval, TICK)).as("4.4 s old").isTrue();
    assertThat(ActivityTracker.recentEnough(pod("30", "2026-12-07T09:59:55Z"), NOW, interval, TICK)).as("5.4 s old").isFalse();
    assertThat(ActivityTracker.recentEnough(pod("30", null), NOW, interval, TICK)).as("none written").isFalse();
    assertThat(ActivityTracker.recentEnough(pod(null, "2026-12-07T09:59:58Z"), NOW, 120_000, TICK))
        .as("no idle timeout: no deadline to keep").isTrue();
  }

  /**
   * Idle timeout 3 s, flush interval 1 s: a last-active 0.4 s old is fresh, but the deadline it
   * gives (5 s after it) comes before this replica's next chance to write plus a failed write's
   * retry: the write goes out now.
   */
  @Test
  void notWhenTheDeadlineItGivesComesBeforeTheNextChanceToWrite() {
    assertThat(ActivityTracker.recentEnough(pod("3", "2026-12-07T10:00:00Z"), NOW, 1_000, TICK)).isFalse();
    // idle timeout 60 s, interval 20 s: the deadline (81 s on) is well after the next chance (~27 s on).
    assertThat(ActivityTracker.recentEnough(pod("60", "2026-12-07T10:00:00Z"), NOW, 20_000, TICK)).isTrue();
  }
}
