package sh.navix.agentbox.api.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.Finalizers;
import sh.navix.agentbox.api.crd.Labels;
import sh.navix.agentbox.api.crd.SandboxStopReason;
import sh.navix.agentbox.api.model.PostStartHookAction;

/** The state machine's arrows as pure functions: what each writes, and that inputs stay untouched. */
class PodTransitionsTest {
  static final Instant NOW = Instant.parse("2026-11-25T10:00:00.123Z");

  static Pod idlePod() {
    return new PodBuilder()
        .withNewMetadata().withName("p-abcde").withNamespace("default").withResourceVersion("41")
        .addToLabels(Labels.SANDBOX_POOL, "p").addToLabels(Labels.SANDBOX_PHASE, "idle")
        .addToLabels(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER).addToLabels("app", "keep")
        .addToAnnotations("kept", "yes").addToAnnotations(Annotations.SCALE_DOWN_PROTECTED, "2026-11-25T09:59:00Z")
        .withFinalizers(Finalizers.SANDBOX_PROTECTION).endMetadata()
        .withNewSpec().addNewContainer().withName("main").withImage("idle:1").endContainer()
        .addNewContainer().withName("side").withImage("side:1").endContainer().endSpec()
        .withNewStatus().addNewContainerStatus().withName("main").withContainerID("containerd://c1").withImage("idle:1").endContainerStatus().endStatus()
        .build();
  }

  static Pod claimed() {
    return claimed(idlePod());
  }

  static Pod claimed(Pod idle) {
    return PodTransitions.claim(idle, new PodTransitions.ClaimSpec("sbx1", Map.of("main", "app:2", "side", "side:1"),
        Map.of("run", "r1"), Map.of("note", "n1"), Map.of("owner", "me"), Duration.ofSeconds(90), Duration.ofMinutes(10),
        List.of(new PostStartHookAction(new PostStartHookAction.ExecHookAction("echo hi"), null)), "t", "u", NOW));
  }

  @Test
  void claimWritesTheSandboxKeysSwapsOnlyChangedImagesAndKeepsTheResourceVersion() {
    Pod idle = idlePod();
    Pod c = claimed(idle);
    assertThat(c.getMetadata().getResourceVersion()).as("compare-and-swap on the version read").isEqualTo("41");
    assertThat(c.getMetadata().getLabels()).containsEntry(Labels.SANDBOX_PHASE, "starting").containsEntry(Labels.SANDBOX_ID, "sbx1")
        .containsEntry(Labels.TEAM, "t").containsEntry(Labels.USER, "u").containsEntry("run", "r1").containsEntry("app", "keep");
    assertThat(c.getMetadata().getAnnotations())
        .containsEntry(Annotations.SANDBOX_ID, "sbx1")
        .containsEntry(Annotations.CLAIMED_AT, "2026-11-25T10:00:00Z")
        .containsEntry(Annotations.STARTUP_TIMEOUT, "90")
        .containsEntry(Annotations.IDLE_TIMEOUT, "600")
        .containsEntry(Annotations.SANDBOX_METADATA, "{\"owner\":\"me\"}")
        .containsEntry(Annotations.MANAGED_LABEL_KEYS, "[\"run\"]")
        .containsEntry(Annotations.MANAGED_ANNOTATION_KEYS, "[\"note\"]")
        .containsEntry(Annotations.POST_START_HOOKS, "[{\"exec\":{\"command\":\"echo hi\"}}]")
        .doesNotContainKey(Annotations.SCALE_DOWN_PROTECTED);
    assertThat(PodTransitions.images(c)).containsExactly(Map.entry("main", "app:2"), Map.entry("side", "side:1"));
    assertThat(idle.getMetadata().getLabels()).as("input untouched").containsEntry(Labels.SANDBOX_PHASE, "idle");
    assertThat(Pods.specImage(idle)).isEqualTo("idle:1");
    assertThat(idle).as("input untouched, nested objects included").isEqualTo(idlePod());
  }

  @Test
  void releaseRecordsWhatRanAndSwapsBackToTheIdleImage() {
    Pod running = PodTransitions.running(claimed(), NOW);
    Pod stopping = PodTransitions.release(running, SandboxStopReason.Released, "IdleTimeout", "quiet", "idle:1", Map.of(), NOW);
    assertThat(stopping.getMetadata().getLabels()).containsEntry(Labels.SANDBOX_PHASE, "stopping");
    assertThat(stopping.getMetadata().getAnnotations())
        .containsEntry(Annotations.STOP_REASON, "Released")
        .containsEntry(Annotations.FAILURE_REASON, "IdleTimeout")
        .containsEntry(Annotations.RUNNING_IMAGES, "{\"main\":\"app:2\",\"side\":\"side:1\"}")
        .containsEntry(Annotations.CONTAINER_ID, "containerd://c1")
        .containsKey(Annotations.TERMINATED_AT);
    assertThat(Pods.specImage(stopping)).isEqualTo("idle:1");
  }

  @Test
  void aSandboxOnTheIdleImageCannotBeRecycledInPlace() {
    Pod onIdle = PodTransitions.claim(idlePod(), new PodTransitions.ClaimSpec("sbx2", Map.of(), null, null, null, null, null,
        null, null, null, NOW));
    assertThat(PodTransitions.canRecycleInPlace(onIdle, "idle:1")).isFalse();
    assertThatThrownBy(() -> PodTransitions.release(onIdle, SandboxStopReason.Released, null, null, "idle:1", Map.of(), NOW))
        .isInstanceOf(IllegalStateException.class);
    assertThat(PodTransitions.markStopped(onIdle, SandboxStopReason.Released, null, null, NOW).getMetadata().getLabels())
        .containsEntry(Labels.SANDBOX_PHASE, "stopping");
  }

  @Test
  void recycledRemovesEverySandboxScopedKeyAndNothingElse() {
    Pod stopping = PodTransitions.release(PodTransitions.running(claimed(), NOW), SandboxStopReason.Released, null, null, "idle:1", Map.of(), NOW);
    Pod idle = PodTransitions.recycled(stopping);
    assertThat(idle.getMetadata().getLabels()).containsOnly(
        Map.entry(Labels.SANDBOX_POOL, "p"), Map.entry(Labels.SANDBOX_PHASE, "idle"),
        Map.entry(Labels.MANAGED_BY, Labels.MANAGED_BY_SANDBOX_API_SERVER), Map.entry("app", "keep"));
    assertThat(idle.getMetadata().getAnnotations()).containsOnly(Map.entry("kept", "yes"));
    assertThat(idle.getMetadata().getFinalizers()).containsExactly(Finalizers.SANDBOX_PROTECTION);
  }

  @Test
  void failedAndDeletedFromOutsideRecordTheCause() {
    Pod failed = PodTransitions.failed(claimed(), new Pods.PodFailure("OOMKilled", "too big", 137), NOW);
    assertThat(failed.getMetadata().getAnnotations()).containsEntry(Annotations.FAILURE_REASON, "OOMKilled")
        .containsEntry(Annotations.EXIT_CODE, "137").containsEntry(Annotations.STOP_REASON, "Failed");
    assertThat(SandboxRecords.terminalStatus(failed)).isEqualTo("Failed");

    Pod starting = claimed();
    assertThat(SandboxRecords.terminalStatus(PodTransitions.deletedFromOutside(starting, "PodDeleted", NOW))).isEqualTo("Canceled");
    Pod running = PodTransitions.running(claimed(), NOW);
    Pod deleted = PodTransitions.deletedFromOutside(running, "PoolDeleted", NOW);
    assertThat(SandboxRecords.terminalStatus(deleted)).isEqualTo("Failed");
    assertThat(deleted.getMetadata().getAnnotations()).containsEntry(Annotations.FAILURE_REASON, "PoolDeleted");
  }

  @Test
  void scaleDownClaimabilityFollowsTheFinalizer() {
    Pod idle = new PodBuilder(idlePod()).editStatus().addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus().build();
    assertThat(Pods.claimable(idle)).isTrue();
    assertThat(Pods.claimable(PodTransitions.withoutFinalizer(idle))).as("doomed by scale-down").isFalse();
    assertThat(Pods.claimable(PodTransitions.protectForScaleDown(idle, NOW))).as("inside the protection window").isTrue();
  }
}
