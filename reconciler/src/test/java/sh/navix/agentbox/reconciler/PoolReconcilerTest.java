package sh.navix.agentbox.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import sh.navix.agentbox.api.crd.Annotations;
import sh.navix.agentbox.api.crd.SandboxPhase;
import sh.navix.agentbox.api.crd.SandboxPool;
import sh.navix.agentbox.api.crd.SandboxPoolPhase;
import sh.navix.agentbox.api.lifecycle.Pods;
import sh.navix.agentbox.api.model.SandboxStatus;

/** Replicas, scale-down with its protection window, pool status and conditions, pool deletion. */
class PoolReconcilerTest extends ReconcilerTestBase {
  @TempDir static Path home;
  static Process gateway;

  @BeforeAll
  static void startGateway() throws Exception {
    template("scaling", "example/idle:1", "example/sandbox:1");
    template("stuck", "example/slow-pull-idle:1", "example/sandbox:1");
    gateway = leading(new Process("gw-pools", home.resolve("gw")));
  }

  @AfterAll
  static void stopGateway() throws Exception {
    gateway.close();
  }

  static SandboxPool awaitPoolPhase(String name, SandboxPoolPhase phase) {
    return await("pool " + name + " " + phase, Duration.ofSeconds(30), () -> {
      SandboxPool p = getPool(name);
      return p != null && p.getStatus() != null && p.getStatus().getPhase() == phase ? p : null;
    });
  }

  @Test
  void statusGoesThroughScalingUpToReady() throws Exception {
    List<SandboxPoolPhase> seen = new CopyOnWriteArrayList<>();
    try (Watch w = admin.resources(SandboxPool.class).inNamespace("default").withName("phases").watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, SandboxPool pool) {
        if (pool.getStatus() != null && pool.getStatus().getPhase() != null
            && (seen.isEmpty() || seen.get(seen.size() - 1) != pool.getStatus().getPhase())) {
          seen.add(pool.getStatus().getPhase());
        }
      }

      @Override
      public void onClose(WatcherException cause) {}
    })) {
      pool("phases", "scaling", 4, null);
      awaitIdleReady("phases", 4);
      SandboxPool ready = awaitPoolPhase("phases", SandboxPoolPhase.Ready);
      assertThat(ready.getStatus().getIdleReplicas()).isEqualTo(4);
      assertThat(ready.getStatus().getUnavailableIdleReplicas()).isZero();
      // The watch delivers the same update a moment after the GET saw it.
      await("the watch sees Ready", Duration.ofSeconds(10), () -> !seen.isEmpty() && seen.get(seen.size() - 1) == SandboxPoolPhase.Ready ? true : null);
    }
    assertThat(seen).first().isEqualTo(SandboxPoolPhase.ScalingUp);
    assertThat(seen).last().isEqualTo(SandboxPoolPhase.Ready);
  }

  @Test
  void idlePodsThatNeverBecomeReadyMakeThePoolDegraded() {
    pool("degraded", "stuck", 2, null);
    SandboxPool pool = awaitPoolPhase("degraded", SandboxPoolPhase.Degraded);
    assertThat(pool.getStatus().getIdleReplicas()).isEqualTo(2);
    assertThat(pool.getStatus().getUnavailableIdleReplicas()).isEqualTo(2);
    assertThat(pool.getStatus().getConditions()).extracting(c -> c.getType() + "=" + c.getStatus() + "/" + c.getReason())
        .contains("Degraded=True/UnhealthyIdlePods", "Available=False/NoIdlePodsAvailable");
  }

  @Test
  void scaleUpAndDownKeepsBusyPodsAndHonoursTheProtectionWindow() throws Exception {
    pool("elastic", "scaling", 2, null);
    List<Pod> first = awaitIdleReady("elastic", 2);

    scale("elastic", 5);
    awaitIdleReady("elastic", 5);
    awaitPoolPhase("elastic", SandboxPoolPhase.Ready);

    // One sandbox runs; scaling to 1 must keep it and remove only idle pods.
    Pod busy = first.get(0);
    claim(busy, "sbxbusy1", "example/sandbox:2", null, null);
    awaitPod(busy.getMetadata().getName(), "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));

    scale("elastic", 1);
    List<Pod> marked = awaitPods("elastic", "4 idle pods marked for scale-down", ps -> ps.stream()
        .filter(p -> Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) != null).count() == 4);
    // Inside the window a marked pod can still be claimed; the claim clears the mark and keeps the pod.
    Pod rescued = marked.stream().filter(p -> Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) != null).findFirst().orElseThrow();
    claim(rescued, "sbxrescued", "example/sandbox:2", null, null);

    List<Pod> remaining = awaitPods("elastic", "only the two busy pods left", ps -> ps.size() == 2
        && ps.stream().noneMatch(p -> Pods.inPhase(p, SandboxPhase.IDLE)));
    assertThat(remaining).extracting(p -> p.getMetadata().getName())
        .containsExactlyInAnyOrder(busy.getMetadata().getName(), rescued.getMetadata().getName());
    SandboxPool pool = awaitPoolPhase("elastic", SandboxPoolPhase.ScalingDown);
    assertThat(pool.getStatus().getConditions()).extracting(c -> c.getType() + "=" + c.getStatus() + "/" + c.getReason())
        .contains("Scaling=True/ScalingDown");
  }

  @Test
  void scalingBackUpInsideTheWindowCancelsTheRemoval() throws Exception {
    pool("flap", "scaling", 3, null);
    Set<String> before = names(awaitIdleReady("flap", 3));
    scale("flap", 1);
    awaitPods("flap", "2 pods marked", ps -> ps.stream().filter(p -> Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) != null).count() == 2);
    scale("flap", 3);
    List<Pod> after = awaitPods("flap", "marks cleared", ps -> ps.size() == 3
        && ps.stream().allMatch(p -> Pods.annotation(p, Annotations.SCALE_DOWN_PROTECTED) == null));
    assertThat(names(after)).isEqualTo(before);
  }

  @Test
  void deletingAPoolRecordsItsSandboxesAndRemovesItsPods() throws Exception {
    pool("doomed", "scaling", 3, null);
    List<Pod> pods = awaitIdleReady("doomed", 3);
    claim(pods.get(0), "sbxdoomed1", "example/sandbox:2", null, null);
    awaitPod(pods.get(0).getMetadata().getName(), "running", p -> Pods.inPhase(p, SandboxPhase.RUNNING));

    admin.resources(SandboxPool.class).inNamespace("default").withName("doomed").delete();
    awaitPods("doomed", "all pods gone", List::isEmpty);
    var record = gateway.record("sbxdoomed1");
    assertThat(record).isNotNull();
    assertThat(record.status()).isEqualTo(SandboxStatus.FAILED);
    assertThat(record.failureReason()).isEqualTo("PoolDeleted");
  }

  static Set<String> names(List<Pod> pods) {
    return pods.stream().map(p -> p.getMetadata().getName()).collect(Collectors.toSet());
  }
}
