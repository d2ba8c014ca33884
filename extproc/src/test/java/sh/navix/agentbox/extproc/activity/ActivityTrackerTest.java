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

  static final long NONE = 0;

  @Test
  void anotherReplicasWriteUnder0point9IntervalsOldIsLookedAtAgainHalfAnIntervalAfterItsNextIsDue() {
    long interval = 10_000; // idle timeout 30 s
    long written = Instant.parse("2026-12-07T09:59:56Z").toEpochMilli();
    assertThat(ActivityTracker.othersWrite(pod("30", "2026-12-07T09:59:56Z"), NONE, NOW, interval, TICK)).as("4.4 s old")
        .isEqualTo(written + 15_000);
    assertThat(ActivityTracker.othersWrite(pod("30", "2026-12-07T09:59:52Z"), NONE, NOW, interval, TICK)).as("8.4 s old")
        .isEqualTo(Instant.parse("2026-12-07T09:59:52Z").toEpochMilli() + 15_000);
    assertThat(ActivityTracker.othersWrite(pod("30", "2026-12-07T09:59:51Z"), NONE, NOW, interval, TICK)).as("9.4 s old: its next is late").isZero();
    assertThat(ActivityTracker.othersWrite(pod("30", null), NONE, NOW, interval, TICK)).as("none written").isZero();
    assertThat(ActivityTracker.othersWrite(pod(null, "2026-12-07T09:59:58Z"), NONE, NOW, 120_000, TICK))
        .as("no idle timeout: no deadline to keep").isEqualTo(Instant.parse("2026-12-07T09:59:58Z").toEpochMilli() + 180_000);
  }

  @Test
  void notThisReplicasOwnWrite() {
    long own = Instant.parse("2026-12-07T09:59:56.700Z").toEpochMilli(); // written as 09:59:56
    assertThat(ActivityTracker.othersWrite(pod("30", "2026-12-07T09:59:56Z"), own, NOW, 10_000, TICK)).isZero();
  }

  /**
   * Idle timeout 3 s, flush interval 1 s: a last-active 0.4 s old would be looked at again 1.5 s
   * after it, but the deadline it gives (5 s after it) comes before that look plus a tick and a
   * failed write's retry (5 s): the write goes out now. With idle timeout 60 s (interval 20 s) the
   * deadline (81 s on) is well after the look (30 s on).
   */
  @Test
  void notWhenTheDeadlineItGivesComesBeforeTheLookAgainAndARetry() {
    assertThat(ActivityTracker.othersWrite(pod("3", "2026-12-07T10:00:00Z"), NONE, NOW, 1_000, TICK)).isZero();
    assertThat(ActivityTracker.othersWrite(pod("60", "2026-12-07T10:00:00Z"), NONE, NOW, 20_000, TICK))
        .isEqualTo(Instant.parse("2026-12-07T10:00:00Z").toEpochMilli() + 30_000);
  }
}
